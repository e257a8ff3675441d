//! Waiting for a step's objects to become healthy (CRDs Established, hook
//! Jobs complete), re-reading only the ones that are not yet, and deleting
//! objects (hooks, prune) and waiting until they are gone.

use std::time::Duration;

use futures::{StreamExt, stream};
use kedge_sync::health::{Health, HealthStatus, assess};
use kedge_sync::{Object, ObjectKey};
use kube::Client;
use kube::api::DeleteParams;
use tokio::time::Instant;

use crate::live::{api_for, to_object};
use crate::report::settled;
use crate::resources::{ResourceType, Target};

/// The first pause between two reads of an object that is not healthy yet.
const FIRST_POLL: Duration = Duration::from_millis(100);
/// How long an object must stay Degraded to count as failed: controllers
/// pass through states that read as degraded for a moment (a CRD whose
/// names are accepted but that is not yet established).
const DEGRADED_GRACE: Duration = Duration::from_secs(2);
/// The longest pause between two reads.
const MAX_POLL: Duration = Duration::from_secs(2);

/// How an object ended its wait.
#[derive(Debug, Clone)]
pub(crate) struct Waited {
    /// The last health seen.
    pub health: Health,
    /// Why it does not count as healthy, if it does not.
    pub failure: Option<String>,
}

/// Waits until every object is healthy (or suspended, or undecidable),
/// degraded for [`DEGRADED_GRACE`], or `deadline` passes; `objects` pairs
/// each target with the object as last seen. Returns each target's outcome,
/// in order.
pub(crate) async fn wait_healthy(
    client: &Client,
    objects: Vec<(&Target, Object)>,
    deadline: Instant,
    concurrency: usize,
) -> Vec<(Waited, Object)> {
    let mut state: Vec<(Health, Object)> = objects
        .iter()
        .map(|(_, object)| (assess(object), object.clone()))
        .collect();
    let mut degraded_since: Vec<Option<Instant>> = vec![None; state.len()];
    let mut pause = FIRST_POLL;
    loop {
        let now = Instant::now();
        for (since, (health, _)) in degraded_since.iter_mut().zip(&state) {
            *since = (health.status == HealthStatus::Degraded).then(|| since.unwrap_or(now));
        }
        let waiting: Vec<usize> = (0..state.len())
            .filter(|&i| {
                let degraded_for = degraded_since[i].map(|since| now - since);
                // An object deleted while waited for will not become
                // healthy: it fails at once (the next sync re-applies it).
                let gone = state[i].0.status == HealthStatus::Missing;
                !settled(&state[i].0) && !gone && degraded_for.is_none_or(|d| d < DEGRADED_GRACE)
            })
            .collect();
        if waiting.is_empty() || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
        pause = (pause * 2).min(MAX_POLL);
        let reads: Vec<(usize, Option<Object>)> = stream::iter(waiting)
            .map(|i| {
                let target = objects[i].0;
                async move {
                    let api = api_for(client, &target.kind, target.key.namespace.as_deref());
                    let read = api.get_opt(&target.key.name).await;
                    (i, read.ok().flatten().map(|o| to_object(o, &target.kind)))
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        for (i, read) in reads {
            state[i] = match read {
                Some(object) => (assess(&object), object),
                None => (
                    Health {
                        status: HealthStatus::Missing,
                        message: Some("deleted while waiting for it to become healthy".into()),
                    },
                    state[i].1.clone(),
                ),
            };
        }
    }
    state
        .into_iter()
        .map(|(health, object)| {
            let failure = (!settled(&health)).then(|| not_healthy_reason(&health));
            (Waited { health, failure }, object)
        })
        .collect()
}

fn not_healthy_reason(health: &Health) -> String {
    let status = match health.status {
        HealthStatus::Degraded => "degraded",
        HealthStatus::Missing => "missing",
        _ => "not healthy before the timeout",
    };
    match &health.message {
        Some(message) => format!("{status}: {message}"),
        None => status.to_owned(),
    }
}

/// Deletes an object with foreground propagation and waits until it is gone
/// (or `deadline` passes); a dry run only asks the server.
pub(crate) async fn delete_and_wait(
    client: &Client,
    kind: &ResourceType,
    key: &ObjectKey,
    deadline: Instant,
    dry_run: bool,
) -> Result<(), String> {
    let api = api_for(client, kind, key.namespace.as_deref());
    let mut params = DeleteParams::foreground();
    if dry_run {
        params = params.dry_run();
    }
    match api.delete(&key.name, &params).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
        Err(error) => return Err(format!("delete failed: {error}")),
    }
    if dry_run {
        return Ok(());
    }
    let mut pause = FIRST_POLL;
    loop {
        match api.get_opt(&key.name).await {
            Ok(None) => return Ok(()),
            Ok(Some(_)) if Instant::now() >= deadline => {
                return Err("still present after the timeout (finalizers?)".into());
            }
            Ok(Some(_)) => {}
            Err(error) => return Err(format!("reading it after delete: {error}")),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_POLL);
    }
}
