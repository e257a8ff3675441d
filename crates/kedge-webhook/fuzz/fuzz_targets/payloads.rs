//! Every payload parser on arbitrary bytes: no panic, and every event it
//! returns carries a normalised image name.
#![no_main]

use kedge_webhook::{GitHubEvent, RegistrySource, parse_github_event};
use libfuzzer_sys::fuzz_target;

const GITHUB_EVENTS: [&str; 5] = ["ping", "push", "pull_request", "package", "registry_package"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let registry = (selector & 0x80 != 0).then_some("registry.example");
    let index = usize::from(selector & 0x7f);
    if let Some(source) = RegistrySource::ALL.get(index % 16) {
        if let Ok(events) = source.parse(body, registry) {
            for event in events {
                assert!(event.image.contains('/'), "{event:?}");
                assert_eq!(event.image, event.image.to_ascii_lowercase());
            }
        }
    } else if let Some(event) = GITHUB_EVENTS.get(index % 16 - RegistrySource::ALL.len()) {
        if let Ok(GitHubEvent::PackagePublished(image)) = parse_github_event(event, body) {
            assert!(image.image.starts_with("ghcr.io/"), "{image:?}");
        }
    }
});
