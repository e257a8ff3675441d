//! The ImageUpdate controller: `ImageUpdate` resources run through the update
//! flow ([`crate::update`]), with status and Events on the resource.
//!
//! A reconcile reads the Secrets the spec names (in the resource's own
//! namespace only), builds the configuration ([`update_settings`]), runs the
//! update, and writes `Ready`, `Synced` and `Stalled`, `observedGeneration`,
//! `lastAppliedImages` and `lastPullRequestURL` by server-side apply of the
//! status subresource. It runs again at `spec.interval`, when the spec
//! changes, and at once when a registry webhook says an image it tracks was
//! pushed ([`ImageUpdateHandle::image_pushed`]).
//!
//! Events, on the resource: `Updated` for a push to the base branch,
//! `PullRequestOpened`, `PullRequestUpdated` and `PullRequestClosed`, and a
//! Warning with the condition reason for each image that failed and for a
//! run that did not happen (`SecretNotFound`, `PushFailed`, …). The reasons
//! of the conditions are listed in [`next_status`].
//!
//! With [`argocd`], the same update path also serves Argo CD Applications
//! annotated for Argo CD Image Updater and its `ImageUpdater` resources
//! (opt-in).
//!
//! ```no_run
//! # async fn run(client: kube::Client) {
//! use kedge::controller::{ImageUpdateOptions, ImageUpdateController};
//!
//! let controller = ImageUpdateController::new(client, None, ImageUpdateOptions::new("/var/cache/kedge"));
//! let handle = controller.handle();
//! tokio::spawn(controller.run(std::future::pending()));
//! // A registry webhook said 127.0.0.1:5000/team/web was pushed:
//! let queued = handle.image_pushed("127.0.0.1:5000/team/web").unwrap();
//! # }
//! ```

pub mod argocd;
mod imported;
mod reconcile;
mod spec;
mod status;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kedge_controller::runtime::{recorder, watched_controller};
use kedge_controller::{ImageUpdate, ImageUpdateSpec};
use kedge_image::{ImageError, ImageName, ImageRef};
use kube::Client;
use kube::runtime::Controller;
use kube::runtime::controller::Action;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::sync::mpsc;

pub use argocd::{ArgoCdTakeover, ArgoCdTakeoverOptions};
pub use imported::{GITHUB_TOKEN_SECRET, image_update_spec};
pub use spec::{SecretFile, SecretValues, SpecError, UpdateSettings, update_settings};
pub use status::{Outcome, failure_reason, next_status};

/// How the ImageUpdate controller runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ImageUpdateOptions {
    /// Where each resource's clone and Secret files are kept (an `emptyDir`
    /// in a pod), under `imageupdates/NAMESPACE/NAME`.
    pub cache_dir: PathBuf,
    /// ImageUpdates reconciled at once.
    pub concurrency: u16,
    /// Who this replica is (Events' reporting instance).
    pub identity: String,
}

impl ImageUpdateOptions {
    /// Options keeping clones under `cache_dir`, everything else default.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            cache_dir: cache_dir.into(),
            concurrency: 4,
            identity: std::env::var("POD_NAME")
                .or_else(|_| std::env::var("HOSTNAME"))
                .unwrap_or_else(|_| "kedge".to_owned()),
        }
    }
}

/// Why a reconcile ended in error (everything else is written to status).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReconcileError {
    /// The status could not be written.
    #[error("writing status: {0}")]
    Status(#[source] kube::Error),
}

/// What reconcilers share.
struct Context {
    client: Client,
    options: ImageUpdateOptions,
    recorder: Recorder,
}

/// Tells a running controller about pushes it cannot see by watching.
#[derive(Clone)]
pub struct ImageUpdateHandle {
    store: Store<ImageUpdate>,
    triggers: mpsc::UnboundedSender<ObjectRef<ImageUpdate>>,
}

impl ImageUpdateHandle {
    /// `image` was pushed (a registry webhook said so): reconcile every
    /// ImageUpdate that tracks it now. `image` is a name or a reference as a
    /// payload writes it (`https://registry/team/web:1.2`); names compare as
    /// `kedge-image` normalises them, so `nginx` and
    /// `registry.hub.docker.com/library/nginx` are one image. Returns how
    /// many ImageUpdates were queued.
    pub fn image_pushed(&self, image: &str) -> Result<usize, ImageError> {
        let pushed = ImageRef::parse_payload(image)?.into_name();
        let mut queued = 0;
        for resource in self.store.state() {
            if tracks_image(&resource.spec, &pushed)
                && (self.triggers)
                    .send(ObjectRef::from_obj(resource.as_ref()))
                    .is_ok()
            {
                queued += 1;
            }
        }
        Ok(queued)
    }
}

/// Whether `spec` keeps `pushed` up to date.
pub fn tracks_image(spec: &ImageUpdateSpec, pushed: &ImageName) -> bool {
    spec.tracks(pushed)
}

/// The ImageUpdate controller, ready to run: [`handle`](Self::handle) for
/// registry webhooks, [`run`](Self::run) until shut down.
pub struct ImageUpdateController {
    controller: Controller<ImageUpdate>,
    context: Arc<Context>,
    handle: ImageUpdateHandle,
    triggers: mpsc::UnboundedReceiver<ObjectRef<ImageUpdate>>,
}

impl ImageUpdateController {
    /// Watches ImageUpdates in every namespace (or only `namespace`).
    pub fn new(client: Client, namespace: Option<&str>, options: ImageUpdateOptions) -> Self {
        // Only spec changes, refresh requests (registry webhooks received by
        // any replica), the interval and in-process triggers reconcile,
        // never kedge's own status writes.
        let (controller, reader) =
            watched_controller::<ImageUpdate>(client.clone(), namespace, options.concurrency);
        let recorder = recorder(client.clone(), &options.identity);
        let (sender, triggers) = mpsc::unbounded_channel();
        Self {
            controller,
            context: Arc::new(Context {
                client,
                options,
                recorder,
            }),
            handle: ImageUpdateHandle {
                store: reader,
                triggers: sender,
            },
            triggers,
        }
    }

    /// A handle that stays valid while the controller runs.
    pub fn handle(&self) -> ImageUpdateHandle {
        self.handle.clone()
    }

    /// Reconciles until `shutdown` completes (in-flight reconciles finish
    /// first).
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + Sync + 'static) {
        let mut receiver = self.triggers;
        let triggers = futures::stream::poll_fn(move |cx| receiver.poll_recv(cx));
        self.controller
            .reconcile_on(triggers)
            .graceful_shutdown_on(shutdown)
            .run(reconcile::reconcile, error_policy, self.context)
            .for_each(|result| async move {
                match result {
                    Ok((resource, _)) => tracing::debug!(image_update = %resource, "reconciled"),
                    Err(error) => tracing::warn!(%error, "image update reconcile failed"),
                }
            })
            .await;
    }
}

fn error_policy(
    _resource: Arc<ImageUpdate>,
    _error: &ReconcileError,
    _ctx: Arc<Context>,
) -> Action {
    Action::requeue(Duration::from_secs(15))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(images: &[&str]) -> ImageUpdateSpec {
        let images: Vec<String> = images
            .iter()
            .enumerate()
            .map(|(i, image)| format!("{{alias: a{i}, image: {image:?}, targets: [apps]}}"))
            .collect();
        let text = format!(
            "git: {{url: https://github.com/acme/manifests.git}}\nimages: [{}]\n",
            images.join(", ")
        );
        serde_saphyr::from_str(&text).expect("a spec")
    }

    fn name(text: &str) -> ImageName {
        ImageRef::parse_payload(text).expect("a name").into_name()
    }

    #[test]
    fn pushed_images_match_however_the_registry_spells_them() {
        let spec = spec(&["nginx", "ghcr.io/acme/web"]);
        for pushed in [
            "registry.hub.docker.com/library/nginx",
            "docker.io/library/nginx:1.27",
            "https://GHCR.IO/acme/web",
            "ghcr.io/acme/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(tracks_image(&spec, &name(pushed)), "{pushed}");
        }
        for other in [
            "ghcr.io/acme/api",
            "quay.io/acme/web",
            "docker.io/acme/nginx",
        ] {
            assert!(!tracks_image(&spec, &name(other)), "{other}");
        }
    }

    #[test]
    fn an_image_that_does_not_parse_matches_nothing() {
        // Upper case is refused by the schema's users, not by the CRD:
        // such an image is never matched rather than matched loosely.
        let spec = spec(&["ghcr.io/Acme/web"]);
        assert!(!tracks_image(&spec, &name("ghcr.io/acme/web")));
    }
}
