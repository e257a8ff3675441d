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
}

/// A discovery answer and when it was asked for.
type Answer = (Instant, Arc<Resources>);

impl SharedDiscovery {
    /// An empty cache whose answers are reused for `max_age`.
    pub fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            last: Arc::new(Mutex::new(None)),
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

    /// Asks the API server, and keeps the answer for the next callers
    /// unless an answer asked for later is already kept.
    async fn refresh(&self, client: &Client) -> Result<Arc<Resources>, KubeError> {
        let asked = Instant::now();
        let resources = Arc::new(Resources::discover(client).await?);
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.as_ref().is_none_or(|(kept, _)| *kept < asked) {
            *last = Some((asked, Arc::clone(&resources)));
        }
        Ok(resources)
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
        Some(shared) => match shared.cached(rendered) {
            Some(resources) => Ok(resources),
            None => shared.refresh(client).await,
        },
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
        Some(shared) => shared.refresh(client).await,
        None => Ok(Arc::new(Resources::discover(client).await?)),
    }
}
