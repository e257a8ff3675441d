//! The controller: kube-runtime `Controller`s that keep Applications synced,
//! behind a Lease so that one replica acts at a time.
//!
//! An Application is reconciled when its spec changes, when its branch
//! moves (one `git ls-remote` per repository per interval, shared by every
//! Application that reads it, see [`RemoteHeads`]), and at once when
//! [`ControllerHandle::repository_changed`] says so (a webhook).

mod application;
mod heads;
mod lease;
mod outcome;

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kedge_render::RenderCache;
use kube::runtime::controller::Action;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, WatchStreamExt, predicates, reflector, watcher};
use kube::{Api, Client};
use tokio::sync::mpsc;

pub use application::STATUS_MANAGER;
pub use heads::{HeadsError, RemoteHeads, ResolvedRevision};
pub use lease::{LeaderLease, LeaseError, run_as_leader};
pub use outcome::{Outcome, next_status};

use crate::Application;

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
        }
    }
}

/// The pod name when running in a pod (`HOSTNAME`), else the host name and
/// process id.
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
}

/// Tells a running controller about changes it cannot see by watching.
#[derive(Clone)]
pub struct ControllerHandle {
    heads: Arc<RemoteHeads>,
    store: Store<Application>,
    triggers: mpsc::UnboundedSender<ObjectRef<Application>>,
}

impl ControllerHandle {
    /// A repository was pushed to (a webhook said so): list its refs again
    /// and reconcile every Application that reads it now. Returns how many
    /// Applications were queued. `url` matches ignoring a trailing `.git`
    /// or `/` and the case of the host.
    pub fn repository_changed(&self, url: &str) -> usize {
        let wanted = comparable_url(url);
        let mut queued = 0;
        for app in self.store.state() {
            if comparable_url(&app.spec.source.repo_url) == wanted {
                self.heads.invalidate(&app.spec.source.repo_url);
                if self
                    .triggers
                    .send(ObjectRef::from_obj(app.as_ref()))
                    .is_ok()
                {
                    queued += 1;
                }
            }
        }
        queued
    }

    /// How many `git ls-remote`s the controller made so far.
    pub fn listings_made(&self) -> u64 {
        self.heads.listings_made()
    }
}

/// A URL as two spellings of one repository compare equal.
fn comparable_url(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    let trimmed = trimmed.strip_suffix(".git").unwrap_or(trimmed);
    match trimmed.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            format!(
                "{}://{}/{path}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase()
            )
        }
        None => trimmed.to_owned(),
    }
}

/// The Application controller, ready to run: [`handle`](Self::handle) for
/// webhooks, [`run`](Self::run) until shut down.
pub struct ApplicationController {
    controller: Controller<Application>,
    context: Arc<Context>,
    handle: ControllerHandle,
    triggers: mpsc::UnboundedReceiver<ObjectRef<Application>>,
}

impl ApplicationController {
    /// Watches Applications in every namespace (or only `namespace`).
    pub fn new(client: Client, namespace: Option<&str>, options: ControllerOptions) -> Self {
        let api: Api<Application> = match namespace {
            Some(namespace) => Api::namespaced(client.clone(), namespace),
            None => Api::all(client.clone()),
        };
        let (reader, writer) = reflector::store();
        // Status writes do not change the generation: only spec changes
        // (and the scheduled re-checks) reconcile, never kedge's own writes.
        let stream = reflector(writer, watcher(api, watcher::Config::default()))
            .default_backoff()
            .applied_objects()
            .predicate_filter(predicates::generation, Default::default());
        let controller = Controller::for_stream(stream, reader.clone())
            .with_config(kube::runtime::Config::default().concurrency(options.concurrency));
        let heads = Arc::new(RemoteHeads::new());
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: "kedge".to_owned(),
                instance: Some(options.identity.clone()),
            },
        );
        let (sender, triggers) = mpsc::unbounded_channel();
        let context = Arc::new(Context {
            client,
            options,
            heads: Arc::clone(&heads),
            renders: RenderCache::new(NonZeroUsize::new(4096).expect("non-zero")),
            store: reader.clone(),
            recorder,
            attempts: application::Attempts::default(),
        });
        Self {
            controller,
            context,
            handle: ControllerHandle {
                heads,
                store: reader,
                triggers: sender,
            },
            triggers,
        }
    }

    /// A handle that stays valid while the controller runs.
    pub fn handle(&self) -> ControllerHandle {
        self.handle.clone()
    }

    /// Reconciles until `shutdown` completes (in-flight reconciles finish
    /// first).
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + Sync + 'static) {
        let triggers = tokio_stream_from(self.triggers);
        self.controller
            .reconcile_on(triggers)
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

fn tokio_stream_from<T: Send + 'static>(
    mut receiver: mpsc::UnboundedReceiver<T>,
) -> impl futures::Stream<Item = T> + Send + 'static {
    futures::stream::poll_fn(move |cx| receiver.poll_recv(cx))
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

    #[test]
    fn repository_urls_compare_as_one_repository() {
        assert_eq!(
            comparable_url("https://GitHub.com/org/repo.git"),
            comparable_url("https://github.com/org/repo/")
        );
        assert_ne!(
            comparable_url("https://github.com/org/repo"),
            comparable_url("https://github.com/org/Repo")
        );
    }
}
