//! Issue 9, "one image name": a webhook routes an image under the same name the
//! registry client and the rewriter use for it, however the payload spells it.

use kedge_webhook::{RegistrySource, normalise_image_name};

fn routed(source: RegistrySource, body: &str) -> Vec<String> {
    source
        .parse(body.as_bytes(), None)
        .unwrap_or_else(|e| panic!("{body}: {e}"))
        .into_iter()
        .map(|event| event.image)
        .collect()
}

#[test]
fn issue9_host_case_and_docker_hub_aliases_route_to_the_configured_image() {
    let ghcr = r#"{"image": "GHCR.IO/org/app", "tag": "1.2.3"}"#;
    assert_eq!(routed(RegistrySource::Generic, ghcr), ["ghcr.io/org/app"]);
    assert_eq!(
        normalise_image_name("ghcr.io/org/app").unwrap(),
        "ghcr.io/org/app"
    );
    let hub = r#"{"events": [{"action": "push", "target": {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "repository": "nginx", "tag": "1.27"},
        "request": {"host": "https://registry.hub.docker.com/"}}]}"#;
    // The name a manifest's `nginx:1.25` and the configured image normalise to.
    let configured = normalise_image_name("nginx:1.25").unwrap();
    assert_eq!(routed(RegistrySource::Distribution, hub), [configured]);
    assert_eq!(
        kedge_image::ImageName::parse("registry.hub.docker.com/library/nginx")
            .unwrap()
            .to_string(),
        "docker.io/library/nginx"
    );
}

#[test]
fn issue9_upper_case_paths_are_refused_naming_the_image() {
    let body = r#"{"image": "ghcr.io/Org/App", "tag": "1"}"#;
    let err = RegistrySource::Generic
        .parse(body.as_bytes(), None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid image reference \"ghcr.io/Org/App\": the repository path must be lower case \
         (OCI distribution spec); write \"ghcr.io/org/app\""
    );
    assert!(!err.is_unauthorized());
}
