//! The app's live objects, read with few requests: one LIST per resource type
//! with the inventory label selector (concurrently, bounded), and for desired
//! objects no LIST returned (a first sync, or adopting an object kedge did
//! not label yet) a GET of each that exists: where many of one type in one
//! namespace are missing, one metadata LIST says which exist.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures::{StreamExt, TryStreamExt, stream};
use kedge_sync::inventory::{APP_LABEL, AppName};
use kedge_sync::{Object, ObjectKey};
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use crate::resources::{ResourceType, Resources, Target};
use crate::{KubeError, SyncOptions};

/// What the cluster holds for an app.
#[derive(Debug, Default)]
pub(crate) struct LiveState {
    /// Objects carrying the app's label, from the LISTs.
    inventory: BTreeMap<ObjectKey, Object>,
    /// Desired objects found by GET, without the app's label.
    unlabelled: BTreeMap<ObjectKey, Object>,
    /// Resource types already listed.
    listed: HashSet<ResourceType>,
    /// Every listable type was asked for, and none refused.
    every_type: bool,
}

/// The typed API for one resource type, in `namespace` or cluster-wide.
pub(crate) fn api_for(
    client: &Client,
    kind: &ResourceType,
    namespace: Option<&str>,
) -> Api<DynamicObject> {
    match namespace.filter(|_| kind.namespaced) {
        Some(namespace) => Api::namespaced_with(client.clone(), namespace, &kind.resource),
        None => Api::all_with(client.clone(), &kind.resource),
    }
}

/// A live object as JSON, with the apiVersion and kind that list items lack.
pub(crate) fn to_object(object: DynamicObject, kind: &ResourceType) -> Object {
    let mut map = match serde_json::to_value(object) {
        Ok(Value::Object(map)) => map,
        _ => Object::new(),
    };
    map.insert(
        "apiVersion".into(),
        kind.resource.api_version.clone().into(),
    );
    map.insert("kind".into(), kind.resource.kind.clone().into());
    map
}

/// The namespaces an app's objects live in: the destination and any a
/// manifest names.
pub(crate) fn namespaces_of<'a>(
    targets: impl IntoIterator<Item = &'a Target>,
    destination: &str,
) -> Vec<String> {
    let mut namespaces: Vec<String> = targets
        .into_iter()
        .filter_map(|target| target.key.namespace.clone())
        .chain([destination.to_owned()])
        .collect();
    namespaces.sort();
    namespaces.dedup();
    namespaces
}

/// The label selector of an app's inventory.
pub(crate) fn selector(app: &AppName) -> String {
    format!("{APP_LABEL}={app}")
}

impl LiveState {
    /// The live object with this key, if read.
    pub fn get(&self, key: &ObjectKey) -> Option<&Object> {
        self.inventory.get(key).or_else(|| self.unlabelled.get(key))
    }

    /// Whether every listable type was read for the app's objects: none
    /// left out by [`SyncOptions::inventory_kinds`], none refused.
    pub fn read_every_type(&self) -> bool {
        self.every_type
    }

    /// Every object that carries the app's label.
    pub fn inventory(&self) -> Vec<Object> {
        self.inventory.values().cloned().collect()
    }

    /// Records an object as it is now (after an apply).
    pub fn record(&mut self, object: Object) {
        let key = kedge_sync::object_key(&object);
        self.unlabelled.remove(&key);
        self.inventory.insert(key, object);
    }

    /// Forgets an object (after a delete).
    pub fn forget(&mut self, key: &ObjectKey) {
        self.inventory.remove(key);
        self.unlabelled.remove(key);
    }

    /// Reads the app's live state: one LIST per resource type of `targets`
    /// (and, with [`Reach::EveryType`], of every type, for what left Git),
    /// then a GET for each target no LIST returned.
    pub async fn read(
        client: &Client,
        resources: &Resources,
        targets: &[Option<Target>],
        options: &SyncOptions,
        reach: Reach,
    ) -> Result<Self, KubeError> {
        let mut types: Vec<_> = targets
            .iter()
            .flatten()
            .map(|t| (t.kind.clone(), Need::Required))
            .collect();
        if reach == Reach::EveryType {
            let known = options.inventory_kinds.as_ref();
            let prunable = resources.prunable().into_iter().filter(|t| {
                known.is_none_or(|kinds| {
                    kinds.contains(&crate::GroupKind {
                        group: t.resource.group.clone(),
                        kind: t.resource.kind.clone(),
                    })
                })
            });
            types.extend(prunable.map(|t| (t, Need::BestEffort)));
        }
        let namespaces = namespaces_of(targets.iter().flatten(), &options.namespace);
        let scope = ListScope {
            selector: selector(&options.app),
            namespaces: &namespaces,
        };
        let mut live = LiveState {
            every_type: reach == Reach::EveryType && options.inventory_kinds.is_none(),
            ..LiveState::default()
        };
        live.list(client, types, &scope, options.concurrency)
            .await?;
        let resolved: Vec<&Target> = targets.iter().flatten().collect();
        live.fetch_missing(client, &resolved, options.concurrency)
            .await?;
        Ok(live)
    }

    /// LISTs the app's objects of each type not listed yet: cluster-wide,
    /// or namespace by namespace (`scope`) where only that is allowed.
    pub async fn list(
        &mut self,
        client: &Client,
        types: impl IntoIterator<Item = (ResourceType, Need)>,
        scope: &ListScope<'_>,
        concurrency: usize,
    ) -> Result<(), KubeError> {
        let todo: Vec<(ResourceType, Need)> = types
            .into_iter()
            .filter(|(kind, _)| self.listed.insert(kind.clone()))
            .collect();
        let lists: Vec<Option<Vec<Object>>> = stream::iter(todo)
            .map(|(kind, need)| list_one(client, kind, need, scope))
            .buffer_unordered(concurrency.max(1))
            .try_collect()
            .await?;
        if lists.iter().any(Option::is_none) {
            self.every_type = false;
        }
        for object in lists.into_iter().flatten().flatten() {
            self.inventory
                .insert(kedge_sync::object_key(&object), object);
        }
        Ok(())
    }

    /// GETs the targets no LIST returned (they may exist without the label).
    pub async fn fetch_missing(
        &mut self,
        client: &Client,
        targets: &[&Target],
        concurrency: usize,
    ) -> Result<(), KubeError> {
        let mut groups: HashMap<(&ResourceType, Option<&str>), Vec<&Target>> = HashMap::new();
        for target in targets.iter().copied() {
            if self.get(&target.key).is_none() {
                let namespace = target.key.namespace.as_deref();
                groups
                    .entry((&target.kind, namespace))
                    .or_default()
                    .push(target);
            }
        }
        // Futures built by a plain iterator, not a closure inside the stream:
        // that keeps the whole sync future `Send` for callers that spawn it.
        let checks: Vec<_> = groups
            .into_iter()
            .map(|((kind, namespace), targets)| existing(client, kind, namespace, targets))
            .collect();
        let missing: Vec<Vec<&Target>> = stream::iter(checks)
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        let gets: Vec<_> = missing
            .into_iter()
            .flatten()
            .map(|target| get_target(client, target))
            .collect();
        let found: Vec<Option<Object>> = stream::iter(gets)
            .buffer_unordered(concurrency.max(1))
            .try_collect()
            .await?;
        for object in found.into_iter().flatten() {
            self.unlabelled
                .insert(kedge_sync::object_key(&object), object);
        }
        Ok(())
    }
}

/// Above this many missing objects of one type in one namespace, a
/// metadata LIST tells which exist instead of a GET of each: a first sync
/// of a thousand objects costs a LIST per type, not a thousand GETs.
const GETS_BEFORE_A_LIST: usize = 3;

/// Those of `targets` (missing objects of one type, in one namespace)
/// that may exist: all of a few, or those a metadata LIST names. A LIST
/// that fails (say, a Role that allows `get` only) leaves them all.
async fn existing<'a>(
    client: &Client,
    kind: &ResourceType,
    namespace: Option<&str>,
    targets: Vec<&'a Target>,
) -> Vec<&'a Target> {
    if targets.len() <= GETS_BEFORE_A_LIST {
        return targets;
    }
    let api = api_for(client, kind, namespace);
    match api.list_metadata(&ListParams::default()).await {
        Ok(list) => {
            let names: HashSet<String> = list
                .items
                .into_iter()
                .filter_map(|item| item.metadata.name)
                .collect();
            targets
                .into_iter()
                .filter(|target| names.contains(&target.key.name))
                .collect()
        }
        Err(error) => {
            tracing::debug!(
                resource = %kind.describe(),
                namespace,
                %error,
                "cannot list names; reading each object instead"
            );
            targets
        }
    }
}

/// GETs one target by name; `None` when it does not exist.
async fn get_target(client: &Client, target: &Target) -> Result<Option<Object>, KubeError> {
    let api = api_for(client, &target.kind, target.key.namespace.as_deref());
    let found = api
        .get_opt(&target.key.name)
        .await
        .map_err(|source| KubeError::Get {
            key: Box::new(target.key.clone()),
            source,
        })?;
    Ok(found.map(|object| to_object(object, &target.kind)))
}

/// Which resource types [`LiveState::read`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Only the types Git has objects of.
    GitTypes,
    /// Every listable type as well, to find the app's objects that left Git.
    EveryType,
}

/// Whether a resource type must be listed for the sync to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Git has objects of this type.
    Required,
    /// Only prune (or diff's extras) looks here: a type kedge may not read
    /// is left out, with a warning.
    BestEffort,
}

/// Whose objects to list, and where to look when a cluster-wide LIST is
/// forbidden (a kedge whose Role covers only its namespaces).
pub(crate) struct ListScope<'a> {
    /// The app's label selector.
    pub selector: String,
    /// The namespaces the app's objects live in.
    pub namespaces: &'a [String],
}

/// The app's objects of one type; `None` when a type only prune needs could
/// not be listed (it is left out, with a warning).
async fn list_one(
    client: &Client,
    kind: ResourceType,
    need: Need,
    scope: &ListScope<'_>,
) -> Result<Option<Vec<Object>>, KubeError> {
    let params = ListParams::default().labels(&scope.selector);
    let failed = |source| KubeError::List {
        resource: kind.describe(),
        selector: scope.selector.clone(),
        source,
    };
    let mut items = Vec::new();
    match api_for(client, &kind, None).list(&params).await {
        Ok(list) => items = list.items,
        Err(kube::Error::Api(status)) if status.code == 403 && kind.namespaced => {
            for namespace in scope.namespaces {
                match api_for(client, &kind, Some(namespace)).list(&params).await {
                    Ok(list) => items.extend(list.items),
                    Err(error) if need == Need::BestEffort => return Ok(skip_type(&kind, &error)),
                    Err(error) => return Err(failed(error)),
                }
            }
        }
        Err(error) if need == Need::BestEffort => return Ok(skip_type(&kind, &error)),
        Err(error) => return Err(failed(error)),
    }
    Ok(Some(
        items
            .into_iter()
            .map(|object| to_object(object, &kind))
            .collect(),
    ))
}

fn skip_type<T>(kind: &ResourceType, error: &kube::Error) -> Option<T> {
    tracing::warn!(
        resource = %kind.describe(),
        %error,
        "cannot list; objects of this type that left Git are not found"
    );
    None
}
