//! The registry client against the real CNCF distribution registry, with images
//! pushed by skopeo.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kedge_registry::{
    ClientConfig, CredentialStore, Credentials, ImageName, Platform, RegistryClient, RegistryError,
    RegistrySettings,
};
use kedge_testkit::oci::OCI_MANIFEST;
use kedge_testkit::{ImageSpec, OciLayout, TestRegistry};

fn client_for(registry: &TestRegistry, credentials: Credentials) -> RegistryClient {
    let mut store = CredentialStore::new();
    store.insert(&registry.host(), credentials);
    RegistryClient::new(ClientConfig {
        registries: vec![(
            registry.host(),
            RegistrySettings {
                insecure: true,
                initial_backoff: Duration::from_millis(10),
                ..RegistrySettings::default()
            },
        )],
        default_settings: RegistrySettings::default(),
        credentials: store,
    })
}

fn image(registry: &TestRegistry, repository: &str) -> ImageName {
    format!("{}/{repository}", registry.host()).parse().unwrap()
}

#[tokio::test]
async fn lists_more_than_a_page_of_tags_and_reads_build_times() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let mut layout = OciLayout::create(dir.path());
    let old = layout.add_image("1.0.0", &ImageSpec::new("2024-01-01T00:00:00Z", "one"));
    let new = layout.add_image("1.1.0", &ImageSpec::new("2024-06-01T12:30:00Z", "two"));
    registry.push(&layout, "1.0.0", "team/app");
    registry.push(&layout, "1.1.0", "team/app");
    // 1,000 more tags on the first image, so the list spans two pages of 1,000.
    let manifest = kedge_testkit::oci::read_blob(&layout, &old.digest);
    for i in 0..1000 {
        registry.tag_manifest(
            "team/app",
            &format!("build-{i:04}"),
            OCI_MANIFEST,
            &manifest,
        );
    }

    let client = client_for(&registry, Credentials::Anonymous);
    let app = image(&registry, "team/app");
    let mut tags = client.list_tags(&app).await.unwrap();
    assert_eq!(tags.len(), 1002);
    tags.sort();
    assert_eq!(&tags[..2], ["1.0.0", "1.1.0"]);
    assert_eq!(tags[2], "build-0000");
    assert_eq!(tags[1001], "build-0999");

    assert_eq!(
        client.manifest_digest(&app, "1.1.0").await.unwrap(),
        new.digest
    );
    assert_eq!(
        client.manifest_digest(&app, "build-0500").await.unwrap(),
        old.digest
    );

    let info = client
        .image_info(&app, "1.1.0", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.digest, new.digest);
    assert_eq!(info.platform_digest, None);
    let created = info.created.unwrap().duration_since(UNIX_EPOCH).unwrap();
    assert_eq!(created.as_secs(), 1_717_245_000, "2024-06-01T12:30:00Z");
}

#[tokio::test]
async fn multi_arch_index_resolves_per_platform() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let mut layout = OciLayout::create(dir.path());
    let index = layout.add_index(
        "2.0.0",
        &[
            ImageSpec::for_platform("linux", "amd64", "2024-03-01T00:00:00Z", "amd64"),
            ImageSpec::for_platform("linux", "arm64", "2024-03-02T00:00:00Z", "arm64"),
        ],
    );
    layout.add_image(
        "2.0.1",
        &ImageSpec::new("2024-04-01T00:00:00Z", "amd64 only"),
    );
    registry.push(&layout, "2.0.0", "multi");
    registry.push(&layout, "2.0.1", "multi");

    let client = client_for(&registry, Credentials::Anonymous);
    let multi = image(&registry, "multi");
    let arm64: Platform = "linux/arm64".parse().unwrap();
    let info = client
        .image_info(&multi, "2.0.0", Some(&arm64))
        .await
        .unwrap()
        .expect("the index has linux/arm64");
    assert_eq!(info.digest, index.digest);
    assert!(info.platform_digest.is_some_and(|d| d != index.digest));
    let created: SystemTime = info.created.unwrap();
    assert_eq!(
        created.duration_since(UNIX_EPOCH).unwrap().as_secs(),
        1_709_337_600
    );

    assert_eq!(
        client
            .image_info(&multi, "2.0.1", Some(&arm64))
            .await
            .unwrap(),
        None,
        "a single amd64 image has no arm64 variant"
    );
    let s390x: Platform = "linux/s390x".parse().unwrap();
    assert_eq!(
        client
            .image_info(&multi, "2.0.0", Some(&s390x))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn basic_auth_registry_wants_the_right_password() {
    let registry = TestRegistry::start_with_basic_auth("kedge", "s3cret");
    let dir = tempfile::tempdir().unwrap();
    let mut layout = OciLayout::create(dir.path());
    layout.add_image("0.1.0", &ImageSpec::new("2024-01-01T00:00:00Z", "private"));
    registry.push(&layout, "0.1.0", "private/app");
    let app = image(&registry, "private/app");

    let good = Credentials::Basic {
        username: "kedge".into(),
        password: "s3cret".into(),
    };
    let tags = client_for(&registry, good).list_tags(&app).await.unwrap();
    assert_eq!(tags, ["0.1.0"]);

    let anonymous = client_for(&registry, Credentials::Anonymous);
    let err = anonymous.list_tags(&app).await.unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&registry.host()) && message.contains("private/app"),
        "the error names registry and repository: {message}"
    );

    let wrong = Credentials::Basic {
        username: "kedge".into(),
        password: "wrong".into(),
    };
    let err = client_for(&registry, wrong)
        .list_tags(&app)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("rejected"), "{err}");
}

#[tokio::test]
async fn missing_repository_and_tag_are_named() {
    let registry = TestRegistry::start();
    let client = client_for(&registry, Credentials::Anonymous);
    let nothing = image(&registry, "no/such/repo");
    let err = client.list_tags(&nothing).await.unwrap_err();
    assert!(matches!(err, RegistryError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("no/such/repo"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let mut layout = OciLayout::create(dir.path());
    layout.add_image("1.0.0", &ImageSpec::new("2024-01-01T00:00:00Z", "x"));
    registry.push(&layout, "1.0.0", "team/x");
    let err = client
        .manifest_digest(&image(&registry, "team/x"), "9.9.9")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("team/x:9.9.9"), "{err}");
}

#[tokio::test]
async fn unreachable_registry_is_a_connection_error_naming_it() {
    let port = kedge_testkit::free_port();
    let host = format!("127.0.0.1:{port}");
    let client = RegistryClient::new(ClientConfig {
        registries: vec![(
            host.clone(),
            RegistrySettings {
                insecure: true,
                max_retries: 2,
                initial_backoff: Duration::from_millis(5),
                ..RegistrySettings::default()
            },
        )],
        ..ClientConfig::default()
    });
    let err = client
        .list_tags(&format!("{host}/team/app").parse().unwrap())
        .await
        .unwrap_err();
    assert!(err.is_connection(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&host) && message.contains("3 attempts"),
        "{message}"
    );
}

#[tokio::test]
async fn https_registry_with_a_custom_ca() {
    let registry = TestRegistry::start_with(kedge_testkit::RegistryOptions {
        tls: true,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut layout = OciLayout::create(dir.path());
    layout.add_image("1.0.0", &ImageSpec::new("2024-01-01T00:00:00Z", "tls"));
    registry.push(&layout, "1.0.0", "secure/app");
    let app = image(&registry, "secure/app");
    let settings = |ca_file| RegistrySettings {
        ca_file,
        max_retries: 0,
        ..RegistrySettings::default()
    };
    let client = |settings| {
        RegistryClient::new(ClientConfig {
            registries: vec![(registry.host(), settings)],
            ..ClientConfig::default()
        })
    };

    let trusted = client(settings(Some(registry.ca_file())));
    assert_eq!(trusted.list_tags(&app).await.unwrap(), ["1.0.0"]);

    let err = client(settings(None)).list_tags(&app).await.unwrap_err();
    assert!(err.is_connection(), "an unknown CA is refused: {err:?}");
    assert!(err.to_string().contains(&registry.host()), "{err}");
}
