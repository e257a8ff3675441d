//! The take-over of an Argo CD Application annotated for AIU (v0.x): its
//! annotations mapped and run as an ImageUpdate's spec, Events on the
//! Application. The Application itself is never written.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ObjectReference, Secret};
use kedge_controller::ImageUpdateSpec;

use crate::update::UpdateResult;
use kube::api::DynamicObject;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, Resource, ResourceExt};

use super::super::reconcile::{NotRun, publish, publish_result, run_spec};
use super::super::{Context, ReconcileError};
use super::mapping::Mapping;
use super::{TakeoverContext, credentials, mapping};

/// How soon a run that failed is tried again (sooner than the interval).
const RETRY: Duration = Duration::from_secs(30);

/// Reconciles one Application; one without AIU's image list is left alone.
#[tracing::instrument(skip_all, fields(application = %format!("{}/{}", app.namespace().unwrap_or_default(), app.name_any())))]
pub(super) async fn reconcile(
    app: Arc<DynamicObject>,
    ctx: Arc<TakeoverContext>,
) -> Result<Action, ReconcileError> {
    if !mapping::has_image_list(&app) {
        return Ok(Action::await_change());
    }
    let about = app.object_ref(&ctx.application);
    let namespace = app.namespace().unwrap_or_default();
    let mut mapping = mapping::application(&app, &ctx.registries);
    publish_not_mapped(&ctx.base, &about, &mapping.not_mapped).await;
    if mapping.specs.is_empty() {
        return Ok(Action::await_change());
    }
    set_git_auth(&ctx.base, &namespace, &mut mapping).await;
    let dir = application_dir(&ctx.base, &namespace, &app.name_any());
    let mut next = Duration::MAX;
    for (index, spec) in mapping.specs.iter().enumerate() {
        let dir = dir.join(index.to_string());
        let (_, after) = run_and_report(&ctx.base, &about, &namespace, spec, dir).await;
        next = next.min(after);
    }
    Ok(Action::requeue(next))
}

/// Runs `spec` and publishes what happened about `about`; returns the
/// outcome and how soon to look again.
pub(super) async fn run_and_report(
    ctx: &Context,
    about: &ObjectReference,
    namespace: &str,
    spec: &ImageUpdateSpec,
    dir: PathBuf,
) -> (Result<UpdateResult, NotRun>, Duration) {
    let interval = spec.interval().unwrap_or(Duration::from_secs(300));
    let retry = RETRY.min(interval);
    let outcome = run_spec(ctx, namespace, spec, &dir).await;
    let after = match &outcome {
        Ok(result) => {
            publish_result(ctx, about, result).await;
            if result.failed.is_empty() {
                interval
            } else {
                retry
            }
        }
        Err(not_run) => {
            let (reason, message) = (not_run.reason, not_run.message.clone());
            tracing::warn!(reason, %message, "image update did not run");
            publish(ctx, about, EventType::Warning, reason, "Update", message).await;
            retry
        }
    };
    (outcome, after)
}

/// Gives every spec of `mapping` the credentials of its `git:secret:`
/// write-back, read from the Secret in `namespace` (a failure to read it is
/// left to the run, which names the Secret).
pub(super) async fn set_git_auth(ctx: &Context, namespace: &str, mapping: &mut Mapping) {
    let Some(name) = &mapping.git_secret else {
        return;
    };
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let secret = match api.get_opt(name).await {
        Ok(secret) => secret,
        Err(error) => {
            tracing::warn!(%error, secret = %name, "reading the write-back Secret");
            None
        }
    };
    for spec in &mut mapping.specs {
        credentials::set_git_auth(spec, name, secret.as_ref());
    }
}

/// A Warning `NotMapped` for each key kedge cannot honour.
pub(super) async fn publish_not_mapped(ctx: &Context, about: &ObjectReference, keys: &[String]) {
    for message in keys {
        let note = format!("kedge does not take this over: {message}");
        publish(
            ctx,
            about,
            EventType::Warning,
            "NotMapped",
            "TakeOver",
            note,
        )
        .await;
    }
}

/// Where one Application's clones and Secret files are kept.
fn application_dir(ctx: &Context, namespace: &str, name: &str) -> PathBuf {
    let root = ctx.options.cache_dir.join("argocd").join("applications");
    root.join(namespace).join(name)
}
