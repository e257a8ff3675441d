//! Leader election with a `coordination.k8s.io/v1` Lease: the replica that
//! holds the Lease acts, the others wait, and a holder that stops renewing
//! (killed, partitioned) is replaced once the Lease's duration has passed.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

/// Why the Lease could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("lease {namespace}/{name}: {source}")]
pub struct LeaseError {
    namespace: String,
    name: String,
    #[source]
    source: kube::Error,
}

/// One Lease that replicas of the controller compete for.
#[derive(Clone)]
pub struct LeaderLease {
    api: Api<Lease>,
    namespace: String,
    name: String,
    identity: String,
    duration: Duration,
    /// Another holder's record (holder and renew time) as last read, and
    /// when this replica first saw it, on its own monotonic clock: a Lease
    /// is expired when its record has not changed for its duration here,
    /// whatever the two machines' wall clocks say.
    observed: std::sync::Arc<std::sync::Mutex<Option<(String, tokio::time::Instant)>>>,
}

impl LeaderLease {
    /// The Lease `namespace/name`, held as `identity` for `duration` after
    /// each renewal (renewed every third of it).
    pub fn new(
        client: Client,
        namespace: &str,
        name: &str,
        identity: impl Into<String>,
        duration: Duration,
    ) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            identity: identity.into(),
            duration,
            observed: std::sync::Arc::default(),
        }
    }

    /// Who this replica is.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Takes the Lease if it is free or expired, or renews it if this
    /// replica holds it. `Ok(true)` when this replica holds it afterwards;
    /// losing a race to another replica is `Ok(false)`.
    pub async fn try_acquire(&self) -> Result<bool, LeaseError> {
        let now = Timestamp::now();
        let Some(mut lease) = self
            .api
            .get_opt(&self.name)
            .await
            .map_err(|e| self.error(e))?
        else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec(now, now, 0)),
            };
            return self.written(self.api.create(&PostParams::default(), &lease).await);
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.as_deref().filter(|h| !h.is_empty());
        let transitions = spec.lease_transitions.unwrap_or(0);
        let acquired_at = spec.acquire_time.as_ref().map_or(now, |t| t.0);
        lease.spec = Some(match holder {
            Some(holder) if holder == self.identity => self.spec(acquired_at, now, transitions),
            Some(holder) if !self.expired_here(holder, &spec) => return Ok(false),
            _ => self.spec(now, now, transitions + 1),
        });
        // The resourceVersion read above makes this a compare-and-swap: of
        // two replicas taking an expired Lease, one gets 409 Conflict.
        self.written(
            self.api
                .replace(&self.name, &PostParams::default(), &lease)
                .await,
        )
    }

    /// Waits until this replica holds the Lease, trying every third of its
    /// duration.
    pub async fn acquire(&self) {
        loop {
            match self.try_acquire().await {
                Ok(true) => return,
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "could not take the leader lease"),
            }
            tokio::time::sleep(self.duration / 3).await;
        }
    }

    /// Renews the Lease every third of its duration; returns when it is lost
    /// (another replica holds it, or it could not be renewed within two
    /// thirds of its duration), at which point this replica must stop
    /// acting at once. Each renewal is bounded by the time left, so a hung
    /// API connection cannot keep a replica acting on an expired Lease.
    pub async fn hold(&self) {
        let deadline_after_renewal = self.duration * 2 / 3;
        // Counted from before the request: the server may have stamped the
        // renewal any time after this.
        let mut renewed_at = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.duration / 3).await;
            let attempt = tokio::time::Instant::now();
            let left = deadline_after_renewal.saturating_sub(renewed_at.elapsed());
            match tokio::time::timeout(left, self.try_acquire()).await {
                Ok(Ok(true)) => renewed_at = attempt,
                Ok(Ok(false)) => return,
                Ok(Err(error)) => tracing::warn!(%error, "could not renew the leader lease"),
                Err(_) => tracing::warn!("renewing the leader lease timed out"),
            }
            if renewed_at.elapsed() >= deadline_after_renewal {
                return;
            }
        }
    }

    /// Whether another holder's Lease has gone unrenewed for its duration,
    /// as this replica has watched it.
    fn expired_here(&self, holder: &str, spec: &LeaseSpec) -> bool {
        let record = format!(
            "{holder}@{}",
            spec.renew_time
                .as_ref()
                .map(|t| t.0.to_string())
                .unwrap_or_default()
        );
        let duration = spec.lease_duration_seconds.map_or(self.duration, |s| {
            Duration::from_secs(u64::try_from(s).unwrap_or(0))
        });
        let mut observed = self
            .observed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match observed.as_ref() {
            Some((seen, since)) if *seen == record => since.elapsed() >= duration,
            _ => {
                *observed = Some((record, tokio::time::Instant::now()));
                false
            }
        }
    }

    /// Gives the Lease up (on shutdown), so another replica takes over at
    /// once instead of after the Lease's duration.
    pub async fn release(&self) -> Result<(), LeaseError> {
        let Some(mut lease) = self
            .api
            .get_opt(&self.name)
            .await
            .map_err(|e| self.error(e))?
        else {
            return Ok(());
        };
        let Some(spec) = lease.spec.as_mut() else {
            return Ok(());
        };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.renew_time = None;
        self.written(
            self.api
                .replace(&self.name, &PostParams::default(), &lease)
                .await,
        )
        .map(drop)
    }

    fn spec(&self, acquired: Timestamp, renewed: Timestamp, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(
                i32::try_from(self.duration.as_secs()).unwrap_or(i32::MAX),
            ),
            acquire_time: Some(MicroTime(acquired)),
            renew_time: Some(MicroTime(renewed)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    fn written(&self, result: Result<Lease, kube::Error>) -> Result<bool, LeaseError> {
        match result {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(error) => Err(self.error(error)),
        }
    }

    fn error(&self, source: kube::Error) -> LeaseError {
        LeaseError {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            source,
        }
    }
}

/// Runs `work` only while this replica holds `lease`: waits for the Lease,
/// starts `work` with a future that completes when it must stop (the Lease
/// was lost, or `shutdown` completed), and waits for the Lease again after
/// a loss. On `shutdown` the Lease is released so that another replica
/// takes over at once.
pub async fn run_as_leader<W, F>(
    lease: &LeaderLease,
    shutdown: impl Future<Output = ()>,
    mut work: W,
) where
    W: FnMut(StopSignal) -> F,
    F: Future<Output = ()>,
{
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            () = lease.acquire() => {}
        }
        tracing::info!(identity = lease.identity(), "took the leader lease");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let mut running = Box::pin(work(StopSignal(stopped)));
        let shutting_down = tokio::select! {
            () = &mut shutdown => true,
            () = lease.hold() => false,
            () = &mut running => {
                // The work ended on its own: nothing left to lead.
                let _ = lease.release().await;
                return;
            }
        };
        let _ = stop.send(());
        running.await;
        if shutting_down {
            if let Err(error) = lease.release().await {
                tracing::warn!(%error, "could not release the leader lease");
            }
            return;
        }
        tracing::warn!(
            identity = lease.identity(),
            "lost the leader lease; stopped acting"
        );
    }
}

/// Completes when the work it was given to must stop (leadership lost,
/// shutdown); `Send` and `Sync`, as kube-runtime's graceful shutdown wants.
pub struct StopSignal(tokio::sync::oneshot::Receiver<()>);

impl StopSignal {
    /// A signal that completes when `shutdown` does (spawned on the current
    /// runtime), for work that runs without a Lease.
    pub fn after(shutdown: impl Future<Output = ()> + Send + 'static) -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop.send(());
        });
        Self(stopped)
    }
}

impl Future for StopSignal {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        // A dropped sender means stop as well.
        std::pin::Pin::new(&mut self.0).poll(cx).map(drop)
    }
}
