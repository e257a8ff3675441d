//! The real CNCF distribution registry (Debian's `docker-registry`) notifying
//! kedge serve: a skopeo push of a multi-arch index becomes one `update_image`
//! for the tracked alias, hinted with the pushed tag.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Call, RecordingRunner, fast_queue};
use kedge_server::{
    ReceiverAuth, RegistryReceiver, RegistrySource, Server, ServerConfig, TrackedImage,
};
use kedge_testkit::{ImageSpec, OciLayout, RegistryOptions, TestRegistry};

const TOKEN: &str = "notify-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_push_notification_updates_the_tracked_image() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let notify_url = format!(
        "http://{}/webhooks/registry/local",
        listener.local_addr().unwrap()
    );
    let registry = tokio::task::spawn_blocking(move || {
        TestRegistry::start_with(RegistryOptions {
            notify_url: Some(notify_url),
            notify_headers: vec![("Authorization".into(), format!("Bearer {TOKEN}"))],
            ..RegistryOptions::default()
        })
    })
    .await
    .unwrap();
    let config = ServerConfig {
        receivers: vec![RegistryReceiver {
            name: "local".into(),
            source: RegistrySource::Distribution,
            auth: Some(ReceiverAuth::bearer(TOKEN)),
            insecure: false,
            registry: None,
        }],
        images: vec![TrackedImage {
            alias: "web".into(),
            image: format!("{}/team/web", registry.host()),
            poll_interval: Some(Duration::ZERO),
        }],
        queue: fast_queue(),
        ..ServerConfig::default()
    };
    let runner = Arc::new(RecordingRunner::default());
    let server = Server::new(config, Arc::clone(&runner)).unwrap();
    let metrics = server.metrics();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(server.serve(listener, async move {
        let _ = stopped.await;
    }));

    let registry = Arc::new(registry);
    push_two_platform_index(Arc::clone(&registry), "1.2.3", "team/web").await;

    let calls = runner.wait_for_calls(1, Duration::from_secs(15)).await;
    assert!(
        !calls.is_empty(),
        "no runner call; registry log:\n{}\nmetrics:\n{}",
        registry.log(),
        metrics.encode()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let calls = runner.calls();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let Call::Update { alias, hint } = &calls[0] else {
        panic!("{calls:?}")
    };
    assert_eq!(alias, "web");
    let hint = hint.as_ref().expect("a hint from the notification");
    assert_eq!(hint.image, format!("{}/team/web", registry.host()));
    assert_eq!(hint.tag.as_deref(), Some("1.2.3"));
    assert!(
        hint.digest
            .as_deref()
            .is_some_and(|d| d.starts_with("sha256:"))
    );
    let text = metrics.encode();
    assert!(!text.contains(r#"outcome="unauthorized""#), "{text}");
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
}

/// Pushes a linux/amd64 + linux/arm64 index with skopeo: the registry notifies
/// the two child manifests by digest and the index with the tag.
async fn push_two_platform_index(
    registry: Arc<TestRegistry>,
    tag: &'static str,
    repository: &'static str,
) {
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let mut layout = OciLayout::create(dir.path());
        let images = [
            ImageSpec::for_platform("linux", "amd64", "2026-01-01T00:00:00Z", "web amd64"),
            ImageSpec::for_platform("linux", "arm64", "2026-01-01T00:00:00Z", "web arm64"),
        ];
        layout.add_index(tag, &images);
        registry.push(&layout, tag, repository);
    })
    .await
    .unwrap();
}
