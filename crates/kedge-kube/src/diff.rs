//! Diff: the app's live state read as sync reads it, compared with Git as
//! the API server would merge it, without writing anything.

use std::collections::BTreeSet;

use kedge_render::RenderedObject;
use kedge_sync::compare::Comparison;
use kedge_sync::compare::{CompareOptions, SyncStatus, compare, unified_diff};
use kedge_sync::inventory::AppName;
use kedge_sync::{Object, ObjectKey};
use kube::Client;

use crate::apply::{prepare, server_sees_no_change};
use crate::live::{LiveState, Reach};
use crate::report::{DiffReport, ObjectDiff};
use crate::resources::{Target, resolve_all};
use crate::{KubeError, SyncOptions};

/// Compares `objects` with the cluster for `options.app`: each object in
/// sync, out of sync (with a unified diff) or missing, then the app's live
/// objects that left Git (extra). Hooks are left out: a sync runs them
/// anew, they are never "in sync".
#[tracing::instrument(skip_all, fields(app = %options.app, namespace = %options.namespace))]
pub async fn diff(
    client: &Client,
    objects: &[RenderedObject],
    options: &SyncOptions,
) -> Result<DiffReport, KubeError> {
    let plan = kedge_sync::order::plan(objects)?;
    let not_compared: BTreeSet<usize> = plan
        .steps
        .iter()
        .flat_map(|step| step.hooks.iter().map(|(index, _)| *index))
        .chain(plan.skipped.iter().map(|skipped| skipped.object))
        .collect();
    let resources = crate::discovery::discover_for(client, options, objects).await?;
    let targets = resolve_all(&resources, objects, &options.namespace)?;
    let live = LiveState::read(client, &resources, &targets, options, Reach::EveryType).await?;

    let compare_options = options.compare_options();
    let mut report = DiffReport {
        app: options.app.clone(),
        objects: Vec::with_capacity(objects.len()),
        inventory_complete: live.read_every_type(),
    };
    let mut desired_keys = BTreeSet::new();
    for (index, target) in targets.iter().enumerate() {
        let (key, desired, live_object) = match target {
            Some(target) => {
                let live_object = live.get(&target.key);
                let desired = prepare(target, &options.app, &compare_options, live_object);
                (target.key.clone(), desired, live_object)
            }
            None => {
                // Its CRD is in this sync and not in the cluster yet.
                let mut desired = objects[index].object.clone();
                kedge_sync::inventory::label(&mut desired, &options.app);
                (objects[index].key(), desired, None)
            }
        };
        desired_keys.insert(key);
        if !not_compared.contains(&index) {
            let target = target.as_ref();
            let object = compare_one(client, target, &desired, live_object, &compare_options).await;
            report.objects.push(object);
        }
    }
    report
        .objects
        .extend(extras(&live, &options.app, &desired_keys));
    Ok(report)
}

/// One object's comparison, asking the server (a dry-run apply) where a
/// local comparison cannot decide.
async fn compare_one(
    client: &Client,
    target: Option<&Target>,
    desired: &Object,
    live: Option<&Object>,
    options: &CompareOptions,
) -> ObjectDiff {
    let comparison = compare(desired, live, options);
    let settled_by_server = match (target, live) {
        (Some(target), Some(live))
            if comparison.status == SyncStatus::OutOfSync && comparison.needs_dry_run =>
        {
            server_sees_no_change(client, target, desired, live).await
        }
        _ => false,
    };
    if comparison.status == SyncStatus::InSync || settled_by_server {
        return ObjectDiff {
            key: comparison.key,
            status: SyncStatus::InSync,
            drift: Vec::new(),
            diff: String::new(),
        };
    }
    ObjectDiff {
        diff: unified_diff(&comparison, Some(desired), live),
        key: comparison.key,
        status: comparison.status,
        drift: comparison.drift,
    }
}

/// The app's live objects that Git no longer has.
fn extras(live: &LiveState, app: &AppName, desired: &BTreeSet<ObjectKey>) -> Vec<ObjectDiff> {
    let inventory: Vec<Object> = live.inventory();
    kedge_sync::inventory::prune_candidates(app, &inventory, desired)
        .into_iter()
        .map(|(object, _)| {
            let comparison = Comparison::extra(object);
            ObjectDiff {
                diff: unified_diff(&comparison, None, Some(object)),
                key: comparison.key,
                status: comparison.status,
                drift: Vec::new(),
            }
        })
        .collect()
}
