//! The ImageUpdate reconciler: read the Secrets the spec names, build the
//! configuration, run the update flow, and write status and Events.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ObjectReference, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kedge_controller::runtime::STATUS_MANAGER;
use kedge_controller::{ImageUpdate, ImageUpdateSpec};
use kedge_forge::GitHub;
use kedge_registry::RegistryClient;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, Resource, ResourceExt};

use super::spec::{SecretFile, SecretValues, UpdateSettings, update_settings};
use super::status::{Outcome, changes, failure_reason, next_status};
use super::{Context, ReconcileError};
use crate::update::{PullRequestAction, RunOptions, UpdateError, UpdateResult, Updater};

/// How soon a resource waiting for a Secret, or one whose run failed, is
/// looked at again (sooner than its interval when that is longer).
const RETRY: Duration = Duration::from_secs(30);

/// Reconciles one ImageUpdate.
#[tracing::instrument(skip_all, fields(image_update = %format!("{}/{}", resource.namespace().unwrap_or_default(), resource.name_any())))]
pub(super) async fn reconcile(
    resource: Arc<ImageUpdate>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let interval = match resource.spec.interval() {
        Ok(interval) => interval,
        Err(error) => {
            let message = format!("spec.{error}");
            return not_run(&ctx, &resource, "InvalidSpec", message, true).await;
        }
    };
    let retry = RETRY.min(interval);
    let namespace = resource.namespace().unwrap_or_default();
    let dir = ctx.resource_dir(&namespace, &resource.name_any());
    match run_spec(&ctx, &namespace, &resource.spec, &dir).await {
        Ok(result) => {
            write_status(&ctx, &resource, &Outcome::Ran(&result)).await?;
            publish_result(&ctx, &resource.object_ref(&()), &result).await;
            Ok(Action::requeue(if result.failed.is_empty() {
                interval
            } else {
                retry
            }))
        }
        Err(NotRun {
            reason,
            message,
            stalled,
        }) => {
            not_run(&ctx, &resource, reason, message, stalled).await?;
            Ok(if stalled {
                Action::await_change()
            } else {
                Action::requeue(retry)
            })
        }
    }
}

/// Runs `spec`, read from an object in `namespace` (whose Secrets it may
/// name), keeping its clone and Secret files under `dir`: the one update
/// path of ImageUpdates and of the configurations taken over from Argo CD
/// Image Updater.
pub(super) async fn run_spec(
    ctx: &Context,
    namespace: &str,
    spec: &ImageUpdateSpec,
    dir: &Path,
) -> Result<UpdateResult, NotRun> {
    let updater = updater_for(ctx, namespace, spec, dir).await?;
    updater
        .run(RunOptions::default())
        .await
        .map_err(|error| NotRun::from(&error))
}

/// Why the update flow did not run or failed as a whole: the condition
/// reason, the message, and whether only a spec change can fix it.
#[derive(Debug)]
pub(super) struct NotRun {
    /// CamelCase reason (`SecretNotFound`, `PushFailed`).
    pub reason: &'static str,
    /// For a person.
    pub message: String,
    /// Only a change of the spec can fix it.
    pub stalled: bool,
}

impl From<&UpdateError> for NotRun {
    fn from(error: &UpdateError) -> Self {
        let (reason, stalled) = match error {
            UpdateError::Config(_) | UpdateError::Template { .. } => ("InvalidSpec", true),
            UpdateError::Git(kedge_git::GitError::Push { .. })
            | UpdateError::TooManyRaces { .. } => ("PushFailed", false),
            UpdateError::Git(_) => ("GitError", false),
            UpdateError::Forge(_) => ("PullRequestFailed", false),
            _ => ("UpdateFailed", false),
        };
        Self {
            reason,
            message: crate::update::error_chain(error),
            stalled,
        }
    }
}

/// The updater for `spec` as it is now: its Secrets read, its
/// configuration built and checked, its Secret files written.
async fn updater_for(
    ctx: &Context,
    namespace: &str,
    spec: &ImageUpdateSpec,
    dir: &Path,
) -> Result<Updater, NotRun> {
    let secrets = read_secrets(ctx, namespace, &spec.secret_names())
        .await
        .map_err(|message| NotRun {
            reason: "SecretNotReadable",
            message,
            stalled: false,
        })?;
    let settings = update_settings(spec, &secrets, &dir.join("secrets")).map_err(|error| {
        let missing = error.is_missing_secret();
        NotRun {
            reason: if missing {
                "SecretNotFound"
            } else {
                "InvalidSpec"
            },
            message: error.to_string(),
            stalled: !missing,
        }
    })?;
    prepare(settings, dir)
        .await
        .map_err(|error| NotRun::from(&error))
}

/// The Secrets `names` in `namespace`; one that does not exist is left
/// out, for the configuration to name the field that wants it.
async fn read_secrets(
    ctx: &Context,
    namespace: &str,
    names: &[&str],
) -> Result<SecretValues, String> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let mut values = SecretValues::new();
    for name in names {
        match api.get_opt(name).await {
            Ok(Some(secret)) => values.insert_secret(&secret),
            Ok(None) => {}
            Err(error) => return Err(format!("reading Secret {namespace}/{name}: {error}")),
        }
    }
    Ok(values)
}

/// Writes the files the settings need and builds the updater over clients
/// that carry the resource's own credentials.
async fn prepare(settings: UpdateSettings, dir: &Path) -> Result<Updater, UpdateError> {
    let files = settings.files;
    tokio::task::spawn_blocking(move || write_secret_files(&files))
        .await
        .map_err(UpdateError::Task)??;
    let registry = RegistryClient::new(settings.registry);
    let forge = settings.forge.map(GitHub::new).transpose()?;
    Ok(Updater::with_clients(settings.config, registry, forge)?
        .with_git_auth(settings.git_auth)
        .with_cache_dir(dir.join("git")))
}

/// Writes each file readable by its owner only.
fn write_secret_files(files: &[SecretFile]) -> Result<(), UpdateError> {
    for file in files {
        let failed = |source: std::io::Error| UpdateError::File {
            key: "(Secret file)".to_owned(),
            path: file.path.clone(),
            source: source.into(),
        };
        if let Some(parent) = file.path.parent() {
            std::fs::create_dir_all(parent).map_err(failed)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut out = options.open(&file.path).map_err(failed)?;
        std::io::Write::write_all(&mut out, &file.contents).map_err(failed)?;
    }
    Ok(())
}

/// Records why nothing ran, in status and as an Event.
async fn not_run(
    ctx: &Context,
    resource: &ImageUpdate,
    reason: &'static str,
    message: String,
    stalled: bool,
) -> Result<Action, ReconcileError> {
    tracing::warn!(reason, %message, "image update did not run");
    let outcome = Outcome::NotRun {
        reason,
        message: message.clone(),
        stalled,
    };
    write_status(ctx, resource, &outcome).await?;
    let about = resource.object_ref(&());
    publish(ctx, &about, EventType::Warning, reason, "Update", message).await;
    Ok(Action::await_change())
}

/// Writes the status `outcome` leads to, when it differs from what is there.
async fn write_status(
    ctx: &Context,
    resource: &ImageUpdate,
    outcome: &Outcome<'_>,
) -> Result<(), ReconcileError> {
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let aliases: Vec<&str> = (resource.spec.images.iter())
        .map(|image| image.alias.as_str())
        .collect();
    let previous = resource.status.as_ref();
    let status = next_status(
        previous,
        resource.meta().generation,
        &aliases,
        outcome,
        &now,
    );
    if previous == Some(&status) {
        return Ok(());
    }
    let api: Api<ImageUpdate> = Api::namespaced(
        ctx.client.clone(),
        &resource.namespace().unwrap_or_default(),
    );
    let patch = serde_json::json!({
        "apiVersion": "kedge.dev/v1alpha1",
        "kind": "ImageUpdate",
        "status": status,
    });
    api.patch_status(
        &resource.name_any(),
        &PatchParams::apply(STATUS_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map_err(ReconcileError::Status)?;
    Ok(())
}

/// One Event per push, per pull request opened or refreshed, and one per
/// image that failed, about the object `about`.
pub(super) async fn publish_result(ctx: &Context, about: &ObjectReference, result: &UpdateResult) {
    if let Some(commit) = &result.commit
        && result.pull_requests.is_empty()
    {
        let short = commit.get(..12).unwrap_or(commit);
        let note = format!("pushed {short}: {}", changes(result));
        publish(ctx, about, EventType::Normal, "Updated", "Push", note).await;
    }
    for pr in &result.pull_requests {
        let reason = match pr.action {
            PullRequestAction::Created => "PullRequestOpened",
            PullRequestAction::Updated => "PullRequestUpdated",
            PullRequestAction::Closed => "PullRequestClosed",
            _ => continue,
        };
        let url = pr.url.as_deref().unwrap_or(&pr.branch);
        let note = format!("{url}: {} ({})", pr.title, pr.aliases.join(", "));
        publish(ctx, about, EventType::Normal, reason, "PullRequest", note).await;
    }
    for failure in &result.failed {
        let reason = failure_reason(std::slice::from_ref(failure));
        let note = failure.error.clone();
        publish(ctx, about, EventType::Warning, reason, "Update", note).await;
    }
}

/// Publishes an Event about `about`.
pub(super) async fn publish(
    ctx: &Context,
    about: &ObjectReference,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) {
    kedge_controller::runtime::publish_about(&ctx.recorder, about, type_, reason, action, note)
        .await;
}

impl Context {
    /// Where one resource keeps its clone and Secret files.
    fn resource_dir(&self, namespace: &str, name: &str) -> PathBuf {
        self.options
            .cache_dir
            .join("imageupdates")
            .join(namespace)
            .join(name)
    }
}
