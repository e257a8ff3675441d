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
use kube::api::DynamicObject;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};

use crate::apply::{ApplyRefusal, apply, prepare, server_sees_no_change};
use crate::live::{api_for, selector, to_object};
use crate::report::{Action, ObjectResult};
use crate::resources::{ResourceType, Target, resolve_all};
use crate::{KubeError, SyncOptions};

type Events = BoxStream<'static, (ResourceType, Result<Event<DynamicObject>, watcher::Error>)>;

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
    let resources = crate::discovery::discover_for(client, options, objects).await?;
    let targets: Vec<Target> = resolve_all(&resources, objects, &options.namespace)?
        .into_iter()
        .flatten()
        .collect();
    let kinds: HashSet<ResourceType> = targets.iter().map(|t| t.kind.clone()).collect();
    let mut events = watch_all(client, kinds, &options.app);
    let mut healer = Healer {
        client,
        options,
        by_key: targets.iter().map(|t| (&t.key, t)).collect(),
        listing: HashMap::new(),
    };
    tokio::pin!(shutdown);
    loop {
        let (kind, event) = tokio::select! {
            () = &mut shutdown => return Ok(()),
            next = events.next() => match next {
                Some(next) => next,
                None => return Ok(()),
            },
        };
        match event {
            Ok(event) => {
                for result in healer.handle(&kind, event).await {
                    on_heal(&result);
                }
            }
            Err(source) => {
                let error = KubeError::Watch {
                    resource: kind.describe(),
                    source,
                };
                tracing::warn!(error = %error, "watch interrupted; retrying");
            }
        }
    }
}

/// What the heal loop knows between events.
struct Healer<'a> {
    client: &'a Client,
    options: &'a SyncOptions,
    by_key: HashMap<&'a ObjectKey, &'a Target>,
    /// Per resource type, the objects seen since its watch (re)started
    /// listing; at the end of the listing, the ones not seen are gone.
    listing: HashMap<ResourceType, HashSet<ObjectKey>>,
}

impl Healer<'_> {
    /// Restores what one watch event shows drifted or gone.
    async fn handle(
        &mut self,
        kind: &ResourceType,
        event: Event<DynamicObject>,
    ) -> Vec<ObjectResult> {
        let (key, live) = match event {
            Event::Init => {
                self.listing.insert(kind.clone(), HashSet::new());
                return Vec::new();
            }
            Event::InitDone => return self.restore_unseen(kind).await,
            Event::InitApply(object) => {
                let object = to_object(object, kind);
                let key = kedge_sync::object_key(&object);
                self.listing
                    .entry(kind.clone())
                    .or_default()
                    .insert(key.clone());
                (key, Some(object))
            }
            Event::Apply(object) => {
                let object = to_object(object, kind);
                (kedge_sync::object_key(&object), Some(object))
            }
            Event::Delete(object) => (kedge_sync::object_key(&to_object(object, kind)), None),
        };
        let Some(target) = self.by_key.get(&key) else {
            return Vec::new();
        };
        restore(self.client, target, live.as_ref(), self.options)
            .await
            .into_iter()
            .collect()
    }

    /// Applies the objects of `kind` that a fresh listing did not return
    /// (deleted while no watch ran).
    async fn restore_unseen(&mut self, kind: &ResourceType) -> Vec<ObjectResult> {
        let seen = self.listing.remove(kind).unwrap_or_default();
        let mut results = Vec::new();
        for target in self.by_key.values() {
            if &target.kind == kind
                && !seen.contains(&target.key)
                && let Some(result) = restore(self.client, target, None, self.options).await
            {
                results.push(result);
            }
        }
        results
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

/// Keeps the cluster equal to the newest revision of an app: syncs each
/// render that `revisions` yields (a new commit, re-rendered), and between
/// revisions heals drift as [`heal`] does, until `shutdown` completes or
/// `revisions` ends. `on_sync` hears of every sync's report, `on_heal` of
/// every object healed. A sync that fails to start (discovery, a bad
/// annotation) is an error; an object that fails is in its report.
pub async fn keep_synced<S>(
    client: &Client,
    mut revisions: S,
    options: &SyncOptions,
    shutdown: impl Future<Output = ()>,
    mut on_sync: impl FnMut(&crate::SyncReport),
    mut on_heal: impl FnMut(&ObjectResult),
) -> Result<(), KubeError>
where
    S: futures::Stream<Item = Vec<RenderedObject>> + Unpin,
{
    tokio::pin!(shutdown);
    let mut objects = tokio::select! {
        () = &mut shutdown => return Ok(()),
        first = revisions.next() => match first {
            Some(first) => first,
            None => return Ok(()),
        },
    };
    loop {
        let report = crate::sync(client, &objects, options).await?;
        on_sync(&report);
        let healing = heal(
            client,
            &objects,
            options,
            std::future::pending(),
            &mut on_heal,
        );
        let next = tokio::select! {
            () = &mut shutdown => return Ok(()),
            healed = healing => return healed,
            next = revisions.next() => next,
        };
        match next {
            Some(next) => objects = next,
            None => return Ok(()),
        }
    }
}
