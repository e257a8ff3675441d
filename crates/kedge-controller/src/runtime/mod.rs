//! The controller: kube-runtime `Controller`s that keep Applications synced,
//! behind a Lease so that one replica acts at a time.
//!
//! An Application is reconciled when its spec changes, when its branch
//! moves (one `git ls-remote` per repository per interval, shared by every
//! Application that reads it, see [`RemoteHeads`]), and at once when
//! [`RefreshRequests::repository_changed`] says so (a webhook, received by
//! any replica).

mod application;
mod events;
mod heads;
mod inventory;
mod lease;
mod metrics;
mod outcome;
mod pull_request;

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kedge_render::RenderCache;
use kedge_webhook::repository_key;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::Store;
use kube::runtime::{Controller, WatchStreamExt, reflector, watcher};
use kube::{Api, Client, ResourceExt};

pub use application::STATUS_MANAGER;
pub use events::{publish, publish_about, recorder, watched_controller};
pub use heads::{HeadsError, RemoteHeads, ResolvedRevision};
pub use lease::{LeaderLease, LeaseError, StopSignal, run_as_leader};
pub use metrics::ControllerMetrics;
pub use outcome::{Outcome, next_status};
pub use pull_request::{DIFF_COMMENT_MARKER, PullRequestRef, pull_request_comment};

use crate::{Application, ImageUpdate};

/// Which Applications one replica handles when a fleet is spread over
/// several controllers (`--shard 1/3`): a stable hash of namespace and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Shard {
    /// Every Application (one shard of one).
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count` (0-based index).
    pub fn new(index: u32, count: u32) -> Result<Self, String> {
        if count == 0 || index >= count {
            return Err(format!(
                "shard {index}/{count}: the index counts from 0 and must be below the count"
            ));
        }
        Ok(Self { index, count })
    }

    /// Which shard this is, counting from 0.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Whether this shard handles the Application `namespace/name`.
    pub fn owns(&self, namespace: &str, name: &str) -> bool {
        // FNV-1a: stable across builds and platforms, unlike std's hasher.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in namespace.bytes().chain([b'/']).chain(name.bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash % u64::from(self.count) == u64::from(self.index)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `i/n`, as `--shard` takes it.
    fn from_str(text: &str) -> Result<Self, String> {
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| format!("shard {text:?}: expected INDEX/COUNT, e.g. 0/3"))?;
        let number = |part: &str| {
            part.trim()
                .parse::<u32>()
                .map_err(|e| format!("shard {text:?}: {part:?} is not a number: {e}"))
        };
        Self::new(number(index)?, number(count)?)
    }
}

/// How the controller runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ControllerOptions {
    /// Where clones and inline Helm values are kept (an `emptyDir` in a pod).
    pub cache_dir: PathBuf,
    /// Which Applications this replica handles.
    pub shard: Shard,
    /// Applications reconciled at once.
    pub concurrency: u16,
    /// How long a sync waits for objects to become healthy.
    pub sync_timeout: Duration,
    /// Who this replica is (Events' reporting instance, the Lease holder).
    pub identity: String,
    /// Where reconciles and git listings are counted.
    pub metrics: Option<ControllerMetrics>,
}

impl ControllerOptions {
    /// Options keeping clones under `cache_dir`, everything else default.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            cache_dir: cache_dir.into(),
            shard: Shard::ALL,
            concurrency: 8,
            sync_timeout: Duration::from_secs(300),
            identity: default_identity(),
            metrics: None,
        }
    }
}

/// `$POD_NAME`, else `$HOSTNAME` (a pod's name), else `kedge`, with the
/// process id: unique among the replicas of one Deployment.
fn default_identity() -> String {
    std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "kedge".to_owned())
        + &format!("-{}", std::process::id())
}

/// Why a reconcile ended in error (everything else is written to status).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReconcileError {
    /// The status could not be written.
    #[error("writing status: {0}")]
    Status(#[source] kube::Error),
}

/// What reconcilers share.
pub(crate) struct Context {
    client: Client,
    options: ControllerOptions,
    heads: Arc<RemoteHeads>,
    renders: RenderCache,
    store: Store<Application>,
    recorder: Recorder,
    attempts: application::Attempts,
    refreshes: application::Refreshes,
    inventories: inventory::Inventories,
    discovery: kedge_kube::SharedDiscovery,
}

/// How long one API discovery answer serves every Application's reconciles
/// (a kind it does not know is looked up again at once).
const DISCOVERY_MAX_AGE: Duration = Duration::from_secs(60);

/// The annotation that asks the controller to look at an Application's
/// repository again now (its value, a timestamp, only has to change). Any
/// replica can set it, leader or not, and so can a person:
/// `kubectl annotate application web kedge.dev/refresh="$(date +%s)" --overwrite`.
pub const REFRESH_ANNOTATION: &str = "kedge.dev/refresh";

/// Turns webhooks into refresh requests on the Applications they concern,
/// from any replica: keeps a cache of Applications (its own watch, running
/// whether or not this replica leads) and annotates the matching ones with
/// [`REFRESH_ANNOTATION`], which the leader's controller reacts to.
#[derive(Clone)]
pub struct RefreshRequests {
    client: Client,
    store: Store<Application>,
    image_updates: Store<ImageUpdate>,
}

impl RefreshRequests {
    /// Starts watching Applications (in `namespace`, or all) on the current
    /// Tokio runtime.
    pub fn start(client: Client, namespace: Option<&str>) -> Self {
        let api: Api<Application> = match namespace {
            Some(namespace) => Api::namespaced(client.clone(), namespace),
            None => Api::all(client.clone()),
        };
        let (store, writer) = reflector::store();
        let watch = reflector(writer, watcher(api, watcher::Config::default()))
            .default_backoff()
            .touched_objects()
            .for_each(|_| std::future::ready(()));
        tokio::spawn(watch);
        let api: Api<ImageUpdate> = match namespace {
            Some(namespace) => Api::namespaced(client.clone(), namespace),
            None => Api::all(client.clone()),
        };
        let (image_updates, writer) = reflector::store();
        let watch = reflector(writer, watcher(api, watcher::Config::default()))
            .default_backoff()
            .touched_objects()
            .for_each(|_| std::future::ready(()));
        tokio::spawn(watch);
        Self {
            client,
            store,
            image_updates,
        }
    }

    /// `image` was pushed (a registry webhook said so; a name or a
    /// reference as a payload writes it): asks for every ImageUpdate that
    /// tracks it to be reconciled now. Returns how many were asked.
    pub async fn image_pushed(&self, image: &str) -> Result<usize, RefreshError> {
        let pushed = kedge_image::ImageRef::parse_payload(image)?.into_name();
        self.wait_until_ready().await?;
        let tracking: Vec<Arc<ImageUpdate>> = self
            .image_updates
            .state()
            .into_iter()
            .filter(|resource| resource.spec.tracks(&pushed))
            .collect();
        self.refresh_all(&[tracking]).await
    }

    /// `branch` of a repository was pushed to (a webhook said so): asks for
    /// every Application that reads that branch of it to be reconciled now.
    /// `repository` is GitHub's `owner/name` or a clone URL; it matches an
    /// Application whose `repoURL` has that path on any host, ignoring case
    /// and a trailing `.git`. Returns how many Applications were asked.
    ///
    /// `changed_paths` (the files the push listed; may be empty or
    /// incomplete) only sets the order: the Applications whose path or
    /// values files they touch are asked first, and their reconciles start
    /// before a thousand others of the same repository are queued.
    pub async fn repository_changed(
        &self,
        repository: &str,
        branch: &str,
        changed_paths: &[String],
    ) -> Result<usize, RefreshError> {
        self.wait_until_ready().await?;
        let (touched, others): (Vec<Arc<Application>>, Vec<Arc<Application>>) = self
            .applications_of(repository)
            .into_iter()
            .filter(|app| {
                let revision = app.spec.source.target_revision.as_str();
                revision == branch || revision.strip_prefix("refs/heads/") == Some(branch)
            })
            .partition(|app| app.spec.source.reads_any_of(changed_paths));
        tracing::debug!(
            repository,
            branch,
            touched = touched.len(),
            others = others.len(),
            "refreshing the Applications a push touched first"
        );
        self.refresh_all(&[touched, others]).await
    }

    /// The Applications that read `repository` (GitHub's `owner/name` or a
    /// clone URL), on any branch.
    pub fn applications_of(&self, repository: &str) -> Vec<Arc<Application>> {
        let wanted = repository_key(repository);
        self.store
            .state()
            .into_iter()
            .filter(|app| repository_key(&app.spec.source.repo_url) == wanted)
            .collect()
    }

    /// Waits until both caches have been filled once, for at most 30 s:
    /// before that, a webhook would find nothing to refresh.
    pub async fn wait_until_ready(&self) -> Result<(), RefreshError> {
        let ready = async {
            let _ = self.store.wait_until_ready().await;
            let _ = self.image_updates.wait_until_ready().await;
        };
        tokio::time::timeout(Duration::from_secs(30), ready)
            .await
            .map_err(|_| RefreshError::NotReady)
    }

    /// Annotates each of `batches`' resources, a batch after the one before
    /// it; one that is gone is skipped, and a failure does not stop the
    /// others (the first is returned after, when none could be asked).
    async fn refresh_all<K>(&self, batches: &[Vec<Arc<K>>]) -> Result<usize, RefreshError>
    where
        K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        // One value for all: the leader lists each repository once for them.
        let requested = k8s_openapi::jiff::Timestamp::now().to_string();
        let mut asked = 0;
        let mut first_error = None;
        for resources in batches.iter().filter(|batch| !batch.is_empty()) {
            let (batch_asked, error) = self.annotate(resources, &requested).await;
            asked += batch_asked;
            first_error = first_error.or(error);
        }
        match first_error {
            Some(error) if asked == 0 => Err(error.into()),
            _ => Ok(asked),
        }
    }

    /// Sets [`REFRESH_ANNOTATION`] to `requested` on each of `resources`;
    /// how many were set, and the first failure.
    async fn annotate<K>(
        &self,
        resources: &[Arc<K>],
        requested: &str,
    ) -> (usize, Option<kube::Error>)
    where
        K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        // Futures built by a plain iterator (keeps the caller `Send`), sent
        // REFRESH_CONCURRENCY at a time: a thousand Applications of one
        // repository are asked in seconds, not one after another.
        let patches: Vec<_> = resources
            .iter()
            .map(|resource| {
                let api: Api<K> = Api::namespaced(
                    self.client.clone(),
                    &resource.namespace().unwrap_or_default(),
                );
                let name = resource.name_any();
                let requested = requested.to_owned();
                async move {
                    let result = request_refresh(&api, &name, &requested).await;
                    (name, result)
                }
            })
            .collect();
        let results: Vec<_> = futures::stream::iter(patches)
            .buffer_unordered(REFRESH_CONCURRENCY)
            .collect()
            .await;
        let mut asked = 0;
        let mut first_error = None;
        for (name, result) in results {
            match result {
                Ok(()) => asked += 1,
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(error) => {
                    tracing::warn!(name, %error, "could not request a refresh");
                    first_error.get_or_insert(error);
                }
            }
        }
        (asked, first_error)
    }
}

/// Refresh requests sent at once.
const REFRESH_CONCURRENCY: usize = 16;

/// Sets [`REFRESH_ANNOTATION`] on `name` to `requested`.
async fn request_refresh<K>(api: &Api<K>, name: &str, requested: &str) -> Result<(), kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let patch = serde_json::json!({"metadata": {"annotations": {REFRESH_ANNOTATION: requested}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(drop)
}

/// Why a refresh request could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// The pushed image is not an image name.
    #[error(transparent)]
    Image(#[from] kedge_image::ImageError),
    /// The annotation could not be written.
    #[error("requesting a refresh: {0}")]
    Kube(#[from] kube::Error),
    /// The Applications and ImageUpdates could not be listed in time.
    #[error(
        "the cache of Applications and ImageUpdates is not filled after 30 s (can kedge list them?)"
    )]
    NotReady,
}

/// What makes a resource worth reconciling, as a kube-runtime predicate: a
/// new spec (generation) or a new refresh request ([`REFRESH_ANNOTATION`]);
/// status writes and other metadata changes are not.
pub fn reconcile_worthy<K: kube::Resource>(resource: &K) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    resource.meta().generation.hash(&mut hasher);
    resource
        .meta()
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(REFRESH_ANNOTATION))
        .hash(&mut hasher);
    Some(hasher.finish())
}

/// The Application controller, ready to [`run`](Self::run).
pub struct ApplicationController {
    controller: Controller<Application>,
    context: Arc<Context>,
}

impl ApplicationController {
    /// Watches Applications in every namespace (or only `namespace`).
    pub fn new(client: Client, namespace: Option<&str>, options: ControllerOptions) -> Self {
        let (controller, reader) =
            watched_controller::<Application>(client.clone(), namespace, options.concurrency);
        let recorder = recorder(client.clone(), &options.identity);
        let heads = Arc::new(RemoteHeads::new().with_metrics(options.metrics.clone()));
        let context = Arc::new(Context {
            client,
            options,
            heads,
            renders: RenderCache::new(NonZeroUsize::new(4096).expect("non-zero")),
            store: reader,
            recorder,
            attempts: application::Attempts::default(),
            refreshes: application::Refreshes::default(),
            inventories: inventory::Inventories::default(),
            discovery: kedge_kube::SharedDiscovery::new(DISCOVERY_MAX_AGE),
        });
        Self {
            controller,
            context,
        }
    }

    /// The ref listings this controller shares between Applications (how
    /// many `git ls-remote`s it made: [`RemoteHeads::listings_made`]).
    pub fn remote_heads(&self) -> Arc<RemoteHeads> {
        Arc::clone(&self.context.heads)
    }

    /// Reconciles until `shutdown` completes (in-flight reconciles finish
    /// first).
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + Sync + 'static) {
        self.controller
            .graceful_shutdown_on(shutdown)
            .run(application::reconcile, error_policy, self.context)
            .for_each(|result| async move {
                match result {
                    Ok((app, _)) => tracing::debug!(app = %app, "reconciled"),
                    Err(error) => tracing::warn!(%error, "reconcile failed"),
                }
            })
            .await;
    }
}

fn error_policy(_app: Arc<Application>, _error: &ReconcileError, _ctx: Arc<Context>) -> Action {
    Action::requeue(Duration::from_secs(15))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_every_app_exactly_once_and_stably() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard::new(i, 3).expect("valid")).collect();
        let mut counts = [0usize; 3];
        for n in 0..3000 {
            let name = format!("app-{n}");
            let owners: Vec<usize> = (0..3).filter(|&i| shards[i].owns("team", &name)).collect();
            assert_eq!(owners.len(), 1, "{name} has owners {owners:?}");
            counts[owners[0]] += 1;
        }
        assert!(counts.iter().all(|&c| c > 800), "uneven split {counts:?}");
        assert!(
            Shard::new(0, 3).expect("valid").owns("team", "app-0")
                == "0/3"
                    .parse::<Shard>()
                    .expect("parses")
                    .owns("team", "app-0")
        );
    }

    #[test]
    fn bad_shards_say_what_is_wrong() {
        assert!(
            "3/3"
                .parse::<Shard>()
                .unwrap_err()
                .contains("below the count")
        );
        assert!("1".parse::<Shard>().unwrap_err().contains("INDEX/COUNT"));
        assert!("a/2".parse::<Shard>().unwrap_err().contains("not a number"));
    }
}
