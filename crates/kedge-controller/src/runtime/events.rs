//! Events and the watch that drives a controller, as every kedge controller
//! builds them.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::controller::Controller;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};

/// The API server refuses Event notes over 1 kB.
const MAX_NOTE_BYTES: usize = 1000;

/// A recorder of Events reported by `kedge` from the replica `identity`.
pub fn recorder(client: Client, identity: &str) -> Recorder {
    Recorder::new(
        client,
        Reporter {
            controller: "kedge".to_owned(),
            instance: Some(identity.to_owned()),
        },
    )
}

/// Publishes an Event about `resource`, its note cut to what the API server
/// accepts. Events are best effort: a failure is logged, not returned.
pub async fn publish<K: Resource<DynamicType = ()>>(
    recorder: &Recorder,
    resource: &K,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) {
    let about = resource.object_ref(&());
    publish_about(recorder, &about, type_, reason, action, note).await;
}

/// [`publish`] for an object known by its reference (one read as a
/// `DynamicObject`, such as an Argo CD Application).
pub async fn publish_about(
    recorder: &Recorder,
    about: &ObjectReference,
    type_: EventType,
    reason: &str,
    action: &str,
    mut note: String,
) {
    if note.len() > MAX_NOTE_BYTES {
        let mut end = MAX_NOTE_BYTES;
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        note.truncate(end);
    }
    let event = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note),
        action: action.to_owned(),
        secondary: None,
    };
    if let Err(error) = recorder.publish(&event, about).await {
        tracing::warn!(%error, reason, "could not publish an Event");
    }
}

/// A controller for `K` in every namespace (or only `namespace`), running
/// `concurrency` reconciles at once, that reconciles on spec changes and
/// refresh requests only ([`super::reconcile_worthy`]): never on kedge's own
/// status writes. Returns it with the store of what it watches.
pub fn watched_controller<K>(
    client: Client,
    namespace: Option<&str>,
    concurrency: u16,
) -> (Controller<K>, Store<K>)
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let api: Api<K> = match namespace {
        Some(namespace) => Api::namespaced(client, namespace),
        None => Api::all(client),
    };
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(writer, watcher(api, watcher::Config::default()))
        .default_backoff()
        .applied_objects()
        .predicate_filter(super::reconcile_worthy::<K>, Default::default());
    let controller = Controller::for_stream(stream, reader.clone())
        .with_config(kube::runtime::Config::default().concurrency(concurrency));
    (controller, reader)
}
