//! Property tests on arbitrary input, run in every `cargo test` (the libFuzzer
//! targets in `fuzz/` go deeper but need `cargo fuzz`): no parser panics on
//! any bytes, and no credential check accepts a delivery without the secret.

use http::{HeaderMap, HeaderValue};
use kedge_webhook::{
    DeliveryAuth, ReceiverAuth, RegistrySource, Secret, parse_github_event, sign_hmac_sha256,
};
use proptest::prelude::*;

const SECRET: &str = "It's a Secret to Everybody";

/// Arbitrary bytes, and arbitrary JSON-ish text built from the fields the parsers read.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        "[{}\\[\\]\":,a-z0-9 ._/@-]{0,256}".prop_map(String::into_bytes),
        (
            "(push|pull|delete|published|PUSH_ARTIFACT|pushImage|pushed)",
            "[a-zA-Z0-9._/:@-]{0,40}",
            "[a-zA-Z0-9._:-]{0,20}"
        )
            .prop_map(|(action, repo, tag)| format!(
                r#"{{"action":"{action}","type":"{action}","events":[{{"action":"{action}","target":{{"repository":"{repo}","tag":"{tag}","mediaType":"manifest"}},"request":{{"host":"{repo}"}}}}],"repository":{{"repo_name":"{repo}","full_name":"{repo}"}},"push_data":{{"tag":"{tag}"}},"docker_url":"{repo}","updated_tags":["{tag}"],"image":"{repo}","tag":"{tag}","ref":"refs/heads/{tag}","domain":"docker","event_type":"{action}","data":{{"image_name":"{repo}","tag":"{tag}","repo_key":"{tag}"}},"jpd_origin":"{repo}"}}"#
            )
            .into_bytes()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn registry_parsers_never_panic(body in body(), registry in proptest::option::of("[a-z0-9.:-]{0,20}")) {
        for source in RegistrySource::ALL {
            if let Ok(events) = source.parse(&body, registry.as_deref()) {
                for event in events {
                    prop_assert!(event.image.contains('/'));
                    prop_assert_eq!(event.image.clone(), event.image.to_ascii_lowercase());
                }
            }
        }
    }

    #[test]
    fn github_parser_never_panics(body in body(), event in "(ping|push|pull_request|package|registry_package|[a-z_]{0,12})") {
        let _ = parse_github_event(&event, &body);
    }

    #[test]
    fn no_signature_but_the_right_one_is_accepted(body in body(), value in "[ -~]{0,80}") {
        let Ok(header) = HeaderValue::from_str(&value) else { return Ok(()) };
        let mut headers = HeaderMap::new();
        headers.insert("x-hub-signature-256", header);
        let request = DeliveryAuth { headers: &headers, query: None, path_token: None, body: &body };
        let auth = ReceiverAuth::github(Secret::new(SECRET));
        let accepted = auth.verify(&request).is_ok();
        prop_assert_eq!(accepted, value.trim().eq_ignore_ascii_case(&sign_hmac_sha256(&Secret::new(SECRET), &body)));
    }

    #[test]
    fn signed_bodies_verify_and_any_change_is_refused(body in body(), flip in any::<prop::sample::Index>()) {
        let secret = Secret::new(SECRET);
        let mut headers = HeaderMap::new();
        headers.insert("x-hub-signature-256", HeaderValue::from_str(&sign_hmac_sha256(&secret, &body)).unwrap());
        let auth = ReceiverAuth::github(secret);
        let request = DeliveryAuth { headers: &headers, query: None, path_token: None, body: &body };
        prop_assert!(auth.verify(&request).is_ok());
        if !body.is_empty() {
            let mut changed = body.clone();
            changed[flip.index(body.len())] ^= 1;
            let request = DeliveryAuth { body: &changed, ..request };
            prop_assert!(auth.verify(&request).is_err());
        }
    }

    #[test]
    fn shared_secret_header_and_token_need_the_exact_secret(value in "[ -~]{0,40}", query in "[ -~]{0,60}") {
        let mut headers = HeaderMap::new();
        if let Ok(header) = HeaderValue::from_str(&value) {
            headers.insert("authorization", header);
        }
        let request = DeliveryAuth { headers: &headers, query: Some(&query), path_token: None, body: b"" };
        let header_ok = ReceiverAuth::bearer(SECRET).verify(&request).is_ok();
        prop_assert_eq!(header_ok, headers.get("authorization").is_some_and(|v| v == format!("Bearer {SECRET}").as_str()));
        let token_ok = ReceiverAuth::UrlToken { token: Secret::new("t0ken") }.verify(&request).is_ok();
        prop_assert!(!token_ok || query.contains("token=t0ken") || query.contains("token=t%30ken") || query.contains('%'));
    }
}
