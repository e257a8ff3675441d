//! Signature and credential checks on arbitrary headers and bodies: no panic,
//! and nothing is accepted unless it carries the right secret.
#![no_main]

use http::{HeaderMap, HeaderValue};
use kedge_webhook::{DeliveryAuth, ReceiverAuth, Secret, sign_hmac_sha256};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "It's a Secret to Everybody";

fuzz_target!(|data: &[u8]| {
    // Layout: header value up to the first 0 byte, then the body.
    let (value, body) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(value) = HeaderValue::from_bytes(value) else {
        return;
    };
    let secret = Secret::new(SECRET);
    let expected = sign_hmac_sha256(&secret, body);
    let schemes = [
        ("x-hub-signature-256", ReceiverAuth::github(secret.clone())),
        ("authorization", ReceiverAuth::bearer(SECRET)),
        (
            "authorization",
            ReceiverAuth::Basic {
                username: "kedge".into(),
                password: secret.clone(),
            },
        ),
    ];
    for (header, auth) in schemes {
        let mut headers = HeaderMap::new();
        headers.insert(header, value.clone());
        let query = std::str::from_utf8(body).ok();
        let request = DeliveryAuth {
            headers: &headers,
            query,
            path_token: None,
            body,
        };
        if auth.verify(&request).is_ok() {
            let got = value.to_str().unwrap_or_default().trim();
            let accepted = match header {
                "x-hub-signature-256" => got.eq_ignore_ascii_case(&expected),
                _ => got == format!("Bearer {SECRET}") || got.starts_with("Basic ") || got.starts_with("basic "),
            };
            assert!(accepted, "accepted {got:?} for {header}");
        }
    }
    let token = ReceiverAuth::UrlToken { token: secret };
    let headers = HeaderMap::new();
    let query = std::str::from_utf8(body).ok();
    let request = DeliveryAuth { headers: &headers, query, path_token: None, body };
    if token.verify(&request).is_ok() {
        assert!(query.is_some_and(|q| q.contains("token=")));
    }
});
