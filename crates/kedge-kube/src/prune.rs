//! Prune: delete the app's live objects that left Git, with foreground
//! propagation, only as [`kedge_sync::inventory::prune_candidates`] decides.

use futures::{StreamExt, stream};
use kedge_sync::inventory::PruneDecision;
use kedge_sync::{Object, ObjectKey};

use crate::engine::{Run, skipped};
use crate::report::{Action, ObjectResult};
use crate::wait::delete_and_wait;

/// Deletes (or, without `prune`, reports) each candidate; protected objects
/// are reported as skipped with the annotation that protects them.
pub(crate) async fn prune_objects(
    run: &Run<'_>,
    candidates: Vec<(&Object, PruneDecision)>,
) -> Vec<ObjectResult> {
    let options = run.options;
    // Futures built by a plain iterator, not a closure inside the stream:
    // that keeps the whole sync future `Send` for callers that spawn it.
    let prunes: Vec<_> = candidates
        .into_iter()
        .map(|(object, decision)| prune_one(run, object, decision))
        .collect();
    let results = stream::iter(prunes)
        .buffer_unordered(options.concurrency.max(1))
        .filter_map(|result| async move { result })
        .collect::<Vec<_>>()
        .await;
    let mut results = results;
    results.sort_by(|a, b| a.key.cmp(&b.key));
    results
}

async fn prune_one(
    run: &Run<'_>,
    object: &Object,
    decision: PruneDecision,
) -> Option<ObjectResult> {
    let options = run.options;
    let key = kedge_sync::object_key(object);
    let action = match decision {
        PruneDecision::Protected(why) if options.prune => {
            skipped(&format!("left Git, but protected from prune by {why}"))
        }
        PruneDecision::Protected(_) => return None,
        PruneDecision::Delete if !options.prune => skipped("left Git; pass --prune to delete it"),
        PruneDecision::Delete => delete(run, object, &key).await,
        other => skipped(&format!("left Git; not pruned ({other:?})")),
    };
    Some(ObjectResult {
        key,
        source: None,
        action,
        health: None,
    })
}

async fn delete(run: &Run<'_>, object: &Object, key: &ObjectKey) -> Action {
    let api_version = object
        .get("apiVersion")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    let Some(kind) = run.resources.lookup(api_version, &key.kind) else {
        return Action::Failed {
            reason: format!("the cluster no longer serves {api_version} {}", key.kind),
        };
    };
    if run.options.dry_run {
        return Action::Pruned;
    }
    match delete_and_wait(run.client, &kind, key, run.deadline, false).await {
        Ok(()) => Action::Pruned,
        Err(reason) => Action::Failed { reason },
    }
}
