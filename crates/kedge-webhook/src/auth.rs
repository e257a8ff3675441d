//! How a receiver checks that a delivery comes from who it claims: HMAC
//! signatures, shared-secret headers, basic auth or a token in the URL, each as
//! the vendor documents it. Every comparison is constant-time.

use std::fmt;

use base64::Engine;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::WebhookError;

/// The header GitHub signs deliveries in.
pub const GITHUB_SIGNATURE_HEADER: &str = "x-hub-signature-256";
/// The header kedge's generic receiver expects its HMAC in.
pub const GENERIC_SIGNATURE_HEADER: &str = "x-kedge-signature-256";
/// The query parameter a URL token is read from (`?token=...`).
pub const TOKEN_QUERY_PARAMETER: &str = "token";

/// A secret from the configuration; its `Debug` output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the comparison that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How one receiver authenticates its deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiverAuth {
    /// Hex HMAC-SHA256 of the body in `header` after `prefix`
    /// (GitHub: `X-Hub-Signature-256: sha256=...`; JFrog with payload signing).
    HmacSha256 {
        /// Header name, any case.
        header: String,
        /// What precedes the hex digest (`sha256=`, or empty).
        prefix: String,
        /// The shared secret.
        secret: Secret,
    },
    /// A header whose value must equal the secret (distribution and GitLab
    /// `headers:`, Harbor's auth header, ACR custom headers, JFrog `X-JFrog-Event-Auth`).
    Header {
        /// Header name, any case.
        name: String,
        /// The exact value expected, e.g. `Bearer s3cr3t`.
        value: Secret,
    },
    /// HTTP basic auth (Quay and Docker Hub URLs of the form `https://user:pass@host/...`).
    Basic {
        /// Expected user name.
        username: String,
        /// Expected password.
        password: Secret,
    },
    /// A token in the webhook URL: `?token=...` or the last path segment
    /// (Docker Hub and Quay, which cannot sign or set headers).
    UrlToken {
        /// The expected token.
        token: Secret,
    },
}

/// The parts of a request that authentication looks at.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryAuth<'a> {
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// A token given as the URL's last path segment, already percent-decoded (as routers do).
    pub path_token: Option<&'a str>,
    /// The exact body bytes.
    pub body: &'a [u8],
}

impl ReceiverAuth {
    /// GitHub's `X-Hub-Signature-256: sha256=<hex>` with `secret`.
    pub fn github(secret: Secret) -> Self {
        Self::HmacSha256 {
            header: GITHUB_SIGNATURE_HEADER.to_owned(),
            prefix: "sha256=".to_owned(),
            secret,
        }
    }

    /// kedge's generic receiver: `X-Kedge-Signature-256: sha256=<hex>` with `secret`.
    pub fn generic_hmac(secret: Secret) -> Self {
        Self::HmacSha256 {
            header: GENERIC_SIGNATURE_HEADER.to_owned(),
            prefix: "sha256=".to_owned(),
            secret,
        }
    }

    /// `Authorization: Bearer <token>`, as distribution and GitLab registries send from `headers:`.
    pub fn bearer(token: &str) -> Self {
        Self::Header {
            name: "authorization".to_owned(),
            value: Secret::new(format!("Bearer {token}")),
        }
    }

    /// Checks `request`; `Ok` only when the credentials match.
    pub fn verify(&self, request: &DeliveryAuth<'_>) -> Result<(), WebhookError> {
        match self {
            Self::HmacSha256 {
                header,
                prefix,
                secret,
            } => {
                let value = header_value(request.headers, header)?;
                verify_hmac_sha256(secret, header, prefix, value, request.body)
            }
            Self::Header { name, value } => {
                let got = header_value(request.headers, name)?;
                check(constant_time_eq(got.as_bytes(), value.expose()), "header")
            }
            Self::Basic { username, password } => verify_basic(request.headers, username, password),
            Self::UrlToken { token } => {
                let got = request
                    .path_token
                    .map(str::to_owned)
                    .or_else(|| request.query.and_then(query_token))
                    .ok_or_else(|| WebhookError::MissingCredentials {
                        expected: format!("{TOKEN_QUERY_PARAMETER} in the URL"),
                    })?;
                check(constant_time_eq(got.as_bytes(), token.expose()), "token")
            }
        }
    }
}

impl ReceiverAuth {
    /// Checks what can be checked before the body is read, so an unauthenticated
    /// sender costs no body buffer: every scheme but HMAC in full, and for HMAC
    /// that the signature header is there and shaped as `prefix` + hex digest.
    /// [`verify`](Self::verify) must still run once the body is in.
    pub fn verify_before_body(&self, request: &DeliveryAuth<'_>) -> Result<(), WebhookError> {
        match self {
            Self::HmacSha256 { header, prefix, .. } => {
                let value = header_value(request.headers, header)?;
                let shaped = value
                    .trim()
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|hex| {
                        hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
                    });
                if shaped {
                    Ok(())
                } else {
                    Err(WebhookError::MalformedSignature {
                        header: header.to_ascii_lowercase(),
                    })
                }
            }
            other => other.verify(request),
        }
    }
}

fn header_value<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, WebhookError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| WebhookError::MissingCredentials {
            expected: name.to_ascii_lowercase(),
        })
}

fn check(matched: bool, scheme: &'static str) -> Result<(), WebhookError> {
    if matched {
        Ok(())
    } else {
        Err(WebhookError::BadCredentials { scheme })
    }
}

/// Compares digests rather than the values, so neither the secret's bytes nor
/// its length shows in the time taken.
fn constant_time_eq(got: &[u8], expected: &str) -> bool {
    use sha2::Digest;
    let got = sha2::Sha256::digest(got);
    let expected = sha2::Sha256::digest(expected.as_bytes());
    got.ct_eq(&expected).into()
}

/// Verifies `value` = `prefix` + hex(HMAC-SHA256(`secret`, `body`)) in constant time.
pub fn verify_hmac_sha256(
    secret: &Secret,
    header: &str,
    prefix: &str,
    value: &str,
    body: &[u8],
) -> Result<(), WebhookError> {
    let malformed = || WebhookError::MalformedSignature {
        header: header.to_ascii_lowercase(),
    };
    let hex_digest = value.trim().strip_prefix(prefix).ok_or_else(malformed)?;
    let signature = hex::decode(hex_digest).map_err(|_| malformed())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).map_err(|_| {
        WebhookError::BadCredentials {
            scheme: "hmac-sha256",
        }
    })?;
    mac.update(body);
    mac.verify_slice(&signature)
        .map_err(|_| WebhookError::BadCredentials {
            scheme: "hmac-sha256",
        })
}

/// `sha256=` + hex HMAC-SHA256 of `body`: what a sender puts in a signature header.
pub fn sign_hmac_sha256(secret: &Secret, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn verify_basic(
    headers: &HeaderMap,
    username: &str,
    password: &Secret,
) -> Result<(), WebhookError> {
    let missing = || WebhookError::MissingCredentials {
        expected: "basic auth".to_owned(),
    };
    let value = header_value(headers, "authorization").map_err(|_| missing())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(missing());
    }
    let bad = WebhookError::BadCredentials { scheme: "basic" };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| WebhookError::BadCredentials { scheme: "basic" })?;
    let Some(colon) = decoded.iter().position(|&b| b == b':') else {
        return Err(bad);
    };
    let user_ok = constant_time_eq(&decoded[..colon], username);
    let password_ok = constant_time_eq(&decoded[colon + 1..], password.expose());
    check(user_ok & password_ok, "basic")
}

fn query_token(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == TOKEN_QUERY_PARAMETER).then(|| percent_decode(value))
    })
}

fn percent_decode(value: &str) -> String {
    let plus_as_space = value.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn request<'a>(
        headers: &'a HeaderMap,
        query: Option<&'a str>,
        body: &'a [u8],
    ) -> DeliveryAuth<'a> {
        DeliveryAuth {
            headers,
            query,
            path_token: None,
            body,
        }
    }

    #[test]
    fn hmac_round_trip_and_tamper() {
        let secret = Secret::new("s");
        let mut headers = HeaderMap::new();
        let signature = sign_hmac_sha256(&secret, b"body");
        headers.insert(
            "x-hub-signature-256",
            HeaderValue::from_str(&signature).unwrap(),
        );
        let auth = ReceiverAuth::github(secret);
        assert!(auth.verify(&request(&headers, None, b"body")).is_ok());
        let err = auth.verify(&request(&headers, None, b"bodx")).unwrap_err();
        assert!(err.is_unauthorized());
        assert!(
            auth.verify(&request(&HeaderMap::new(), None, b"body"))
                .is_err()
        );
    }

    #[test]
    fn basic_auth_checks_user_and_password() {
        let auth = ReceiverAuth::Basic {
            username: "quay".into(),
            password: Secret::new("pw"),
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            HeaderValue::from_static("Basic cXVheTpwdw=="),
        );
        assert!(auth.verify(&request(&headers, None, b"")).is_ok());
        headers.insert(
            "authorization",
            HeaderValue::from_static("Basic cXVheTpwDw=="),
        );
        assert!(auth.verify(&request(&headers, None, b"")).is_err());
    }

    #[test]
    fn url_token_from_query_is_percent_decoded() {
        let auth = ReceiverAuth::UrlToken {
            token: Secret::new("a b&c"),
        };
        let headers = HeaderMap::new();
        assert!(
            auth.verify(&request(&headers, Some("x=1&token=a%20b%26c"), b""))
                .is_ok()
        );
        assert!(
            auth.verify(&request(&headers, Some("token=ab"), b""))
                .is_err()
        );
        assert!(auth.verify(&request(&headers, None, b"")).is_err());
    }

    #[test]
    fn secrets_are_not_printed() {
        let auth = ReceiverAuth::bearer("hunter2");
        assert!(!format!("{auth:?}").contains("hunter2"));
    }
}
