//! API discovery shared between syncs: a controller reconciling a thousand
//! apps asks the API server for its resource types once a minute, not once
//! per reconcile.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use kedge_render::RenderedObject;
use kube::Client;

use crate::resources::Resources;
use crate::{KubeError, SyncOptions};

/// One discovery answer reused by every sync and diff given it (through
/// [`SyncOptions::discovery`]) while it is younger than its `max_age`. An
/// answer that does not know a kind a render has (a CRD installed since)
/// is replaced at once by a fresh one, so a cached answer never turns a new
/// kind into an "unknown kind" error; a render that holds CRDs always asks
/// afresh (its custom resources wait for their CRD by discovery), and
/// [`forget`](Self::forget) drops the answer after a failure it may have
/// caused (a type removed since). Cheap to clone: clones share it.
#[derive(Clone)]
pub struct SharedDiscovery {
    max_age: Duration,
    last: Arc<Mutex<Option<Answer>>>,
    /// One caller asks the API server at a time; the others take its answer.
    asking: Arc<tokio::sync::Mutex<()>>,
}

/// A discovery answer and when it was asked for.
type Answer = (Instant, Arc<Resources>);

impl SharedDiscovery {
    /// An empty cache whose answers are reused for `max_age`.
    pub fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            last: Arc::new(Mutex::new(None)),
            asking: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Drops the cached answer: the next sync asks the API server.
    pub fn forget(&self) {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The cached answer, when it is young enough, knows every kind of
    /// `rendered`, and `rendered` defines no CRD.
    fn cached(&self, rendered: &[RenderedObject]) -> Option<Arc<Resources>> {
        let defines_crds = rendered
            .iter()
            .any(|object| object.kind() == "CustomResourceDefinition");
        if defines_crds {
            return None;
        }
        let last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let (at, resources) = last.as_ref()?;
        let knows_all = rendered.iter().all(|object| {
            resources
                .lookup(object.api_version(), object.kind())
                .is_some()
        });
        (at.elapsed() < self.max_age && knows_all).then(|| Arc::clone(resources))
    }

    /// An answer that serves `rendered`: the cached one, another caller's
    /// that came while this one waited its turn, else the API server's.
    /// When the cached answer expires, a thousand reconciles ask once, not
    /// once each.
    async fn for_objects(
        &self,
        client: &Client,
        rendered: &[RenderedObject],
    ) -> Result<Arc<Resources>, KubeError> {
        if let Some(resources) = self.cached(rendered) {
            return Ok(resources);
        }
        let _turn = self.asking.lock().await;
        match self.cached(rendered) {
            Some(resources) => Ok(resources),
            None => self.ask(client).await,
        }
    }

    /// An answer asked for after this call began (a CRD was just
    /// established): another caller's, when one asked while this one
    /// waited its turn, else the API server's.
    async fn fresh(&self, client: &Client) -> Result<Arc<Resources>, KubeError> {
        let wanted_after = Instant::now();
        let _turn = self.asking.lock().await;
        match self.asked_since(wanted_after) {
            Some(resources) => Ok(resources),
            None => self.ask(client).await,
        }
    }

    /// Asks the API server, and keeps the answer for the next callers. Called
    /// with the turn held.
    async fn ask(&self, client: &Client) -> Result<Arc<Resources>, KubeError> {
        let asked = Instant::now();
        let resources = Arc::new(Resources::discover(client).await?);
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((asked, Arc::clone(&resources)));
        Ok(resources)
    }

    /// The kept answer, if it was asked for at `since` or later.
    fn asked_since(&self, since: Instant) -> Option<Arc<Resources>> {
        let last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let (asked, resources) = last.as_ref()?;
        (*asked >= since).then(|| Arc::clone(resources))
    }
}

impl fmt::Debug for SharedDiscovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let age = self
            .last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|(at, _)| at.elapsed());
        f.debug_struct("SharedDiscovery")
            .field("max_age", &self.max_age)
            .field("age", &age)
            .finish()
    }
}

/// Discovery for a sync or diff of `rendered`: the shared answer where
/// `options` has one that serves, the API server's otherwise.
pub(crate) async fn discover_for(
    client: &Client,
    options: &SyncOptions,
    rendered: &[RenderedObject],
) -> Result<Arc<Resources>, KubeError> {
    match &options.discovery {
        Some(shared) => shared.for_objects(client, rendered).await,
        None => Ok(Arc::new(Resources::discover(client).await?)),
    }
}

/// A fresh answer from the API server (a CRD of this sync was just
/// established), shared with later syncs where `options` shares one.
pub(crate) async fn rediscover(
    client: &Client,
    options: &SyncOptions,
) -> Result<Arc<Resources>, KubeError> {
    match &options.discovery {
        Some(shared) => shared.fresh(client).await,
        None => Ok(Arc::new(Resources::discover(client).await?)),
    }
}
