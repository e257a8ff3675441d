//! Taking over from Argo CD Image Updater (AIU) in place: kedge acts on the
//! Argo CD `Application`s that carry AIU's annotations and on AIU's
//! `ImageUpdater` resources, so AIU can be scaled to zero.
//!
//! Each object is mapped by [`kedge_migrate`] (as `kedge import
//! argocd-image-updater` maps files) to the `ImageUpdate` spec that `kedge
//! import -o crd` would print, and that spec runs through the ImageUpdate
//! reconciler's own update path. kedge commits to Git whatever AIU's
//! write-back method: it never changes an Application.
//!
//! What users of AIU look at stays where it was:
//!
//! - an Application with the annotation [`IMAGE_LIST_ANNOTATION`] gets
//!   Events: `Updated` for a push, `PullRequestOpened`/`PullRequestUpdated`,
//!   a Warning for each image that failed or a run that did not happen, and
//!   a Warning `NotMapped` naming each annotation kedge cannot honour;
//! - an `ImageUpdater` gets AIU's documented `status` (server-side apply of
//!   the status subresource) and `NotMapped` Events; the Applications it
//!   updates get the Events above.
//!
//! Both are opt-in: nothing here runs unless [`ArgoCdTakeover`] is started
//! (`kedge serve --controller --argocd-image-updater`).

mod application;
mod credentials;
mod mapping;
mod status;
mod updater;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kedge_controller::RegistrySpec;
use kedge_controller::runtime::{REFRESH_ANNOTATION, reconcile_worthy, recorder};
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{self, ObjectRef, store::Writer};
use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};

pub use mapping::IMAGE_LIST_ANNOTATION;

use super::{Context, ImageUpdateOptions, ReconcileError};

/// Argo CD's `Application` (`argoproj.io/v1alpha1`), read as a `DynamicObject`.
pub fn application_resource() -> ApiResource {
    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application");
    ApiResource::from_gvk_with_plural(&gvk, "applications")
}

/// AIU's `ImageUpdater` (`argocd-image-updater.argoproj.io/v1alpha1`).
pub fn image_updater_resource() -> ApiResource {
    let gvk = GroupVersionKind::gvk(
        "argocd-image-updater.argoproj.io",
        "v1alpha1",
        "ImageUpdater",
    );
    ApiResource::from_gvk_with_plural(&gvk, "imageupdaters")
}

/// How the take-over runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ArgoCdTakeoverOptions {
    /// Cache directory (clones go under `argocd/`), concurrency, identity.
    pub image_updates: ImageUpdateOptions,
    /// Registry settings added to every mapped spec, as an ImageUpdate's
    /// `spec.registries` (AIU keeps them in its own `registries.conf`);
    /// Secrets they name are read in the object's namespace.
    pub registries: Vec<RegistrySpec>,
    /// Whether to run `ImageUpdater`s too (their CRD must be installed).
    pub image_updaters: bool,
}

impl ArgoCdTakeoverOptions {
    /// Options keeping clones where `image_updates` says, for Applications
    /// and ImageUpdaters, with no registry settings.
    pub fn new(image_updates: ImageUpdateOptions) -> Self {
        Self {
            image_updates,
            registries: Vec::new(),
            image_updaters: true,
        }
    }
}

/// What the take-over's reconcilers share.
struct TakeoverContext {
    /// The ImageUpdate reconciler's context: client, options, recorder.
    base: Context,
    registries: Vec<RegistrySpec>,
    application: ApiResource,
    image_updater: ApiResource,
}

/// The take-over, ready to [`run`](Self::run).
pub struct ArgoCdTakeover {
    client: Client,
    namespace: Option<String>,
    context: Arc<TakeoverContext>,
    image_updaters: bool,
}

impl ArgoCdTakeover {
    /// Watches Argo CD Applications (and ImageUpdaters) in every namespace
    /// (or only `namespace`).
    pub fn new(client: Client, namespace: Option<&str>, options: ArgoCdTakeoverOptions) -> Self {
        let recorder = recorder(client.clone(), &options.image_updates.identity);
        Self {
            context: Arc::new(TakeoverContext {
                base: Context {
                    client: client.clone(),
                    options: options.image_updates,
                    recorder,
                },
                registries: options.registries,
                application: application_resource(),
                image_updater: image_updater_resource(),
            }),
            client,
            namespace: namespace.map(str::to_owned),
            image_updaters: options.image_updaters,
        }
    }

    /// Reconciles until `shutdown` completes (in-flight reconciles finish
    /// first).
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + Sync + 'static) {
        let shutdown = futures::FutureExt::shared(Box::pin(shutdown));
        let ctx = &self.context;
        let concurrency = ctx.base.options.concurrency;
        let apps = self
            .controller(&ctx.application, annotations_worthy, concurrency)
            .graceful_shutdown_on(shutdown.clone())
            .run(application::reconcile, error_policy, ctx.clone())
            .for_each(|result| log("Application", result));
        if !self.image_updaters {
            return apps.await;
        }
        let updaters = self.controller(&ctx.image_updater, reconcile_worthy, concurrency);
        let updaters = self
            .on_application_change(updaters)
            .graceful_shutdown_on(shutdown)
            .run(updater::reconcile, error_policy, ctx.clone())
            .for_each(|result| log("ImageUpdater", result));
        tokio::join!(apps, updaters);
    }

    /// `resource` in the watched namespace, or in all.
    fn api(&self, resource: &ApiResource) -> Api<DynamicObject> {
        match &self.namespace {
            Some(namespace) => Api::namespaced_with(self.client.clone(), namespace, resource),
            None => Api::all_with(self.client.clone(), resource),
        }
    }

    /// Also reconciles the ImageUpdaters of a namespace when one of its
    /// Applications changes spec or AIU annotations: an Application a
    /// pattern selects is taken over as soon as it exists.
    fn on_application_change(
        &self,
        updaters: Controller<DynamicObject>,
    ) -> Controller<DynamicObject> {
        let store = updaters.store();
        let resource = self.context.image_updater.clone();
        let changes = watcher(
            self.api(&self.context.application),
            watcher::Config::default(),
        )
        .default_backoff()
        .applied_objects()
        .predicate_filter(annotations_worthy, Default::default());
        let selecting = move |app: DynamicObject| {
            let namespace = app.namespace();
            (store.state().into_iter())
                .filter(|updater| updater.namespace() == namespace)
                .map(|updater| ObjectRef::from_obj_with(updater.as_ref(), resource.clone()))
                .collect::<Vec<_>>()
        };
        updaters.watches_stream_with(changes, selecting, self.context.application.clone())
    }

    /// A controller over `resource` that reconciles when `worthy` changes.
    fn controller(
        &self,
        resource: &ApiResource,
        worthy: fn(&DynamicObject) -> Option<u64>,
        concurrency: u16,
    ) -> Controller<DynamicObject> {
        let api = self.api(resource);
        let writer = Writer::new(resource.clone());
        let reader = writer.as_reader();
        let stream = reflector::reflector(writer, watcher(api, watcher::Config::default()))
            .default_backoff()
            .applied_objects()
            .predicate_filter(worthy, Default::default());
        Controller::for_stream_with(stream, reader, resource.clone())
            .with_config(kube::runtime::Config::default().concurrency(concurrency))
    }
}

/// An Application is worth a look when its spec, its AIU annotations or a
/// refresh request change; Argo CD's own status writes are not.
fn annotations_worthy(app: &DynamicObject) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    app.meta().generation.hash(&mut hasher);
    for (key, value) in app.meta().annotations.iter().flatten() {
        if key.starts_with(mapping::ANNOTATION_PREFIX) || key == REFRESH_ANNOTATION {
            (key, value).hash(&mut hasher);
        }
    }
    Some(hasher.finish())
}

async fn log(
    kind: &'static str,
    result: Result<
        (kube::runtime::reflector::ObjectRef<DynamicObject>, Action),
        kube::runtime::controller::Error<ReconcileError, watcher::Error>,
    >,
) {
    match result {
        Ok((object, _)) => tracing::debug!(kind, %object, "taken over"),
        Err(error) => tracing::warn!(kind, %error, "take-over reconcile failed"),
    }
}

fn error_policy(
    _object: Arc<DynamicObject>,
    _error: &ReconcileError,
    _ctx: Arc<TakeoverContext>,
) -> Action {
    Action::requeue(Duration::from_secs(15))
}
