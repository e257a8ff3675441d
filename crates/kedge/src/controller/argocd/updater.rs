//! The take-over of an AIU `ImageUpdater`: each Application of its
//! namespace that it selects is mapped and run as an ImageUpdate's spec;
//! the ImageUpdater gets AIU's documented status, the Applications the
//! Events of their runs.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kedge_controller::runtime::STATUS_MANAGER;
use kube::api::{DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Api, Resource, ResourceExt};

use super::super::ReconcileError;
use super::application::{publish_not_mapped, run_and_report, set_git_auth};
use super::status::{ApplicationRun, Checked, ImageUpdaterStatus, next_status};
use super::{TakeoverContext, mapping};
use crate::update::UpdateResult;

use super::super::reconcile::NotRun;

/// How soon an ImageUpdater whose Applications could not be listed is
/// looked at again.
const RETRY: Duration = Duration::from_secs(30);

/// One Application's run, owned until the status is written.
struct Run {
    app: String,
    outcome: Result<UpdateResult, NotRun>,
}

/// What one reconcile of an ImageUpdater did.
#[derive(Default)]
struct Checks {
    /// Applications selected.
    matched: usize,
    /// Images kept up to date in them.
    images: usize,
    /// One run per Application and manifest repository.
    runs: Vec<Run>,
    /// Keys kedge cannot honour (`KEY: why`), once each.
    not_mapped: Vec<String>,
}

/// Reconciles one ImageUpdater.
#[tracing::instrument(skip_all, fields(image_updater = %format!("{}/{}", updater.namespace().unwrap_or_default(), updater.name_any())))]
pub(super) async fn reconcile(
    updater: Arc<DynamicObject>,
    ctx: Arc<TakeoverContext>,
) -> Result<Action, ReconcileError> {
    let namespace = updater.namespace().unwrap_or_default();
    let apps = Api::<DynamicObject>::namespaced_with(
        ctx.base.client.clone(),
        &namespace,
        &ctx.application,
    );
    let apps = match apps.list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(error) => {
            let checks = Checks {
                runs: vec![Run {
                    app: "*".to_owned(),
                    outcome: Err(NotRun {
                        reason: "ApplicationsNotListed",
                        message: format!("listing Applications in {namespace}: {error}"),
                        stalled: false,
                    }),
                }],
                ..Checks::default()
            };
            write_status(&ctx, &updater, &checks).await?;
            return Ok(Action::requeue(RETRY));
        }
    };
    let (checks, next) = run_selected(&ctx, &updater, &apps).await;
    let about = updater.object_ref(&ctx.image_updater);
    publish_not_mapped(&ctx.base, &about, &checks.not_mapped).await;
    write_status(&ctx, &updater, &checks).await?;
    // With nothing selected yet, look again at the default interval.
    Ok(Action::requeue(next.unwrap_or(Duration::from_secs(300))))
}

/// Runs what `updater` asks of each of `apps` it selects; returns what
/// happened and how soon to look again (`None`: nothing ran).
async fn run_selected(
    ctx: &TakeoverContext,
    updater: &DynamicObject,
    apps: &[DynamicObject],
) -> (Checks, Option<Duration>) {
    let namespace = updater.namespace().unwrap_or_default();
    let mut checks = Checks::default();
    let mut next: Option<Duration> = None;
    for app in apps {
        let Some(mut mapping) = mapping::image_updater(updater, app, &ctx.registries) else {
            continue;
        };
        set_git_auth(&ctx.base, &namespace, &mut mapping).await;
        checks.matched += 1;
        checks.images += mapping.images();
        for message in mapping.not_mapped {
            if !checks.not_mapped.contains(&message) {
                checks.not_mapped.push(message);
            }
        }
        let app_ref = app.object_ref(&ctx.application);
        let dir = updater_dir(ctx, &namespace, &updater.name_any(), &app.name_any());
        for (index, spec) in mapping.specs.iter().enumerate() {
            let dir = dir.join(index.to_string());
            let (outcome, after) = run_and_report(&ctx.base, &app_ref, &namespace, spec, dir).await;
            next = Some(next.map_or(after, |next| next.min(after)));
            checks.runs.push(Run {
                app: app.name_any(),
                outcome,
            });
        }
    }
    (checks, next)
}

/// Writes the status `checks` lead to by server-side apply of the status
/// subresource, only the fields AIU's CRD defines.
async fn write_status(
    ctx: &TakeoverContext,
    updater: &DynamicObject,
    checks: &Checks,
) -> Result<(), ReconcileError> {
    let previous: ImageUpdaterStatus = (updater.data.get("status"))
        .and_then(|status| serde_json::from_value(status.clone()).ok())
        .unwrap_or_default();
    let runs: Vec<ApplicationRun<'_>> = (checks.runs.iter())
        .map(|run| ApplicationRun {
            app: &run.app,
            outcome: &run.outcome,
        })
        .collect();
    let checked = Checked {
        generation: updater.meta().generation,
        applications: checks.matched,
        images: checks.images,
        runs: &runs,
        not_mapped: &checks.not_mapped,
    };
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let status = next_status(&previous, &checked, &now);
    let resource = &ctx.image_updater;
    let api: Api<DynamicObject> = Api::namespaced_with(
        ctx.base.client.clone(),
        &updater.namespace().unwrap_or_default(),
        resource,
    );
    let patch = serde_json::json!({
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "status": status,
    });
    api.patch_status(
        &updater.name_any(),
        &PatchParams::apply(STATUS_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map_err(ReconcileError::Status)?;
    Ok(())
}

/// Where one ImageUpdater's run for one Application keeps its clones.
fn updater_dir(
    ctx: &TakeoverContext,
    namespace: &str,
    updater: &str,
    app: &str,
) -> std::path::PathBuf {
    let root = ctx
        .base
        .options
        .cache_dir
        .join("argocd")
        .join("imageupdaters");
    root.join(namespace).join(updater).join(app)
}
