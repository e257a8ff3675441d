//! Self-heal: after a sync, watch the app's objects (kube-runtime watchers
//! with the inventory label selector, one per resource type) and re-apply
//! any object that drifts from Git or disappears. A field Git never set is
//! not drift, so one added outside Git stays.

use std::collections::{HashMap, HashSet};
use std::future::Future;

use futures::StreamExt;
use futures::stream::{self, BoxStream};
use kedge_render::RenderedObject;
use kedge_sync::ObjectKey;
use kedge_sync::compare::{SyncStatus, compare};
use kedge_sync::inventory::AppName;
use kube::Client;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};

use crate::apply::{ApplyRefusal, apply, prepare, server_sees_no_change};
use crate::live::{api_for, selector, to_object};
use crate::report::{Action, ObjectResult};
use crate::resources::{ResourceType, Resources, Target, resolve_all};
use crate::{KubeError, SyncOptions};

type Events = BoxStream<
    'static,
    (
        ResourceType,
        Result<Event<kube::api::DynamicObject>, watcher::Error>,
    ),
>;

/// Keeps the cluster equal to `objects` until `shutdown` completes: every
/// object that drifts or is deleted is applied again, and `on_heal` hears
/// of it. Run it after [`crate::sync`], with the same objects and options.
#[tracing::instrument(skip_all, fields(app = %options.app))]
pub async fn heal(
    client: &Client,
    objects: &[RenderedObject],
    options: &SyncOptions,
    shutdown: impl Future<Output = ()>,
    mut on_heal: impl FnMut(&ObjectResult),
) -> Result<(), KubeError> {
    let resources = Resources::discover(client).await?;
    let targets: Vec<Target> = resolve_all(&resources, objects, &options.namespace)?
        .into_iter()
        .flatten()
        .collect();
    let by_key: HashMap<&ObjectKey, &Target> = targets.iter().map(|t| (&t.key, t)).collect();
    let kinds: HashSet<ResourceType> = targets.iter().map(|t| t.kind.clone()).collect();
    let mut events = watch_all(client, kinds, &options.app);
    let mut seen_at_start = HashSet::new();
    let mut started = false;
    tokio::pin!(shutdown);
    loop {
        let (kind, event) = tokio::select! {
            () = &mut shutdown => return Ok(()),
            next = events.next() => match next {
                Some(next) => next,
                None => return Ok(()),
            },
        };
        let event = match event {
            Ok(event) => event,
            Err(source) => {
                let error = KubeError::Watch {
                    resource: kind.describe(),
                    source,
                };
                tracing::warn!(error = %error, "watch interrupted; retrying");
                continue;
            }
        };
        let (target, live) = match event {
            Event::Apply(object) | Event::InitApply(object) => {
                let object = to_object(object, &kind);
                let key = kedge_sync::object_key(&object);
                if !started {
                    seen_at_start.insert(key.clone());
                }
                let Some(target) = by_key.get(&key) else {
                    continue;
                };
                (*target, Some(object))
            }
            Event::Delete(object) => {
                let key = kedge_sync::object_key(&to_object(object, &kind));
                let Some(target) = by_key.get(&key) else {
                    continue;
                };
                (*target, None)
            }
            Event::Init => continue,
            Event::InitDone => {
                started = true;
                // Objects deleted while no watch ran: restore them too.
                for target in targets.iter().filter(|t| !seen_at_start.contains(&t.key)) {
                    if target.kind == kind
                        && let Some(result) = restore(client, target, None, options).await
                    {
                        on_heal(&result);
                    }
                }
                continue;
            }
        };
        if let Some(result) = restore(client, target, live.as_ref(), options).await {
            on_heal(&result);
        }
    }
}

fn watch_all(client: &Client, kinds: HashSet<ResourceType>, app: &AppName) -> Events {
    let selector = selector(app);
    let streams = kinds.into_iter().map(|kind| {
        let api = api_for(client, &kind, None);
        let config = watcher::Config::default().labels(&selector);
        watcher::watcher(api, config)
            .default_backoff()
            .map(move |event| (kind.clone(), event))
            .boxed()
    });
    stream::select_all(streams).boxed()
}

/// Applies `target` again if `live` drifted from it or is gone.
async fn restore(
    client: &Client,
    target: &Target,
    live: Option<&kedge_sync::Object>,
    options: &SyncOptions,
) -> Option<ObjectResult> {
    let compare_options = options.compare_options();
    let desired = prepare(target, &options.app, &compare_options, live);
    let comparison = compare(&desired, live, &compare_options);
    let unchanged = match (comparison.status, live) {
        (SyncStatus::InSync, _) => true,
        (SyncStatus::OutOfSync, Some(live)) if comparison.needs_dry_run => {
            server_sees_no_change(client, target, &desired, live).await
        }
        _ => false,
    };
    if unchanged {
        return None;
    }
    tracing::info!(key = %target.key, status = ?comparison.status, "healing");
    let action = match apply(client, target, &desired, options.force_conflicts, false).await {
        Ok(_) => Action::Applied,
        Err(ApplyRefusal::Conflict { managers, reason }) => Action::Skipped {
            reason,
            conflicts_with: managers,
        },
        Err(ApplyRefusal::Failed(reason)) => Action::Failed { reason },
    };
    Some(ObjectResult {
        key: target.key.clone(),
        source: Some(target.source.to_string()),
        action,
        health: None,
    })
}
