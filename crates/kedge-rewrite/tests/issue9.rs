//! Issue 9, "one image name": the rewriter matches a manifest's reference to a
//! configured image through `kedge-image`'s normalised name, and keeps the
//! reference as the manifest wrote it.

use kedge_rewrite::{Part, Target, Update, normalise_name, rewrite};

fn tag_update(name: &str, tag: &str) -> Update {
    Update::Image {
        name: name.to_owned(),
        target: Target {
            name: None,
            tag: Part::Set(Some(tag.to_owned())),
            digest: Part::Set(None),
        },
    }
}

#[test]
fn issue9_docker_hub_alias_matches_the_short_name_in_a_manifest() {
    // Before: `registry.hub.docker.com/library/nginx` normalised to itself here, so
    // `nginx:1.25` never matched and the image stayed "already current" forever.
    let yaml = b"spec:\n  containers:\n  - name: web\n    image: nginx:1.25 # pinned\n  - name: side\n    image: docker.io/library/nginx:1.25\n";
    let update = tag_update("registry.hub.docker.com/library/nginx", "1.27");
    let out = rewrite("deploy.yaml".as_ref(), yaml, &[update]).unwrap();
    assert_eq!(
        String::from_utf8(out.bytes).unwrap(),
        "spec:\n  containers:\n  - name: web\n    image: nginx:1.27 # pinned\n  - name: side\n    image: docker.io/library/nginx:1.27\n"
    );
    assert!(
        out.changes
            .iter()
            .all(|c| &*c.image == "docker.io/library/nginx")
    );
}

#[test]
fn issue9_host_case_does_not_matter_and_path_case_is_not_an_image() {
    let yaml = b"image: GHCR.IO/org/app:1\nsidecar:\n  image: ghcr.io/Org/App:1\n";
    let out = rewrite(
        "values.yaml".as_ref(),
        yaml,
        &[tag_update("ghcr.io/org/app", "2")],
    )
    .unwrap();
    // The host keeps its spelling; the upper-case path names no image a registry serves.
    assert_eq!(
        String::from_utf8(out.bytes).unwrap(),
        "image: GHCR.IO/org/app:2\nsidecar:\n  image: ghcr.io/Org/App:1\n"
    );
    // A name kedge-image refuses is only ever equal to itself.
    assert_eq!(normalise_name("ghcr.io/Org/App"), "ghcr.io/Org/App");
    assert_eq!(normalise_name("GHCR.IO/org/app"), "ghcr.io/org/app");
}
