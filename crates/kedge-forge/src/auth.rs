//! GitHub credentials: a token used as is, or a GitHub App whose RS256-signed JWT
//! is exchanged for installation tokens, cached until shortly before they expire.
//!
//! Nothing here prints a secret: [`GitHubAuth`]'s `Debug` redacts the token and
//! the key, and tokens live only in [`Secret`], whose `Debug` is redacted too.

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::ForgeError;

/// How kedge authenticates to GitHub.
#[derive(Clone)]
pub enum GitHubAuth {
    /// A personal access token, fine-grained token or `GITHUB_TOKEN`.
    Token(String),
    /// A GitHub App installation.
    App {
        /// The App's numeric id (Settings → Developer settings → GitHub Apps).
        app_id: u64,
        /// The installation of the App on the repository's owner.
        installation_id: u64,
        /// The App's private key, PEM (PKCS#1 `RSA PRIVATE KEY` or PKCS#8).
        private_key_pem: String,
    },
}

impl fmt::Debug for GitHubAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token(_) => f.debug_tuple("Token").field(&"<redacted>").finish(),
            Self::App {
                app_id,
                installation_id,
                ..
            } => f
                .debug_struct("App")
                .field("app_id", app_id)
                .field("installation_id", installation_id)
                .field("private_key_pem", &"<redacted>")
                .finish(),
        }
    }
}

/// A token that never shows up in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// `Bearer <token>` as a header value marked sensitive (hyper keeps it out of its logs).
    pub(crate) fn bearer(&self) -> Option<http::HeaderValue> {
        let mut value = http::HeaderValue::from_str(&format!("Bearer {}", self.0)).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The claims GitHub expects in an App JWT.
#[derive(Serialize)]
struct AppClaims {
    iat: i64,
    exp: i64,
    /// The App id as a JSON number, as GitHub's examples and octocrab send it.
    iss: u64,
}

/// A GitHub App's signing key, parsed once.
pub(crate) struct AppSigner {
    pub(crate) app_id: u64,
    pub(crate) installation_id: u64,
    key: EncodingKey,
}

impl fmt::Debug for AppSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppSigner")
            .field("app_id", &self.app_id)
            .field("installation_id", &self.installation_id)
            .finish_non_exhaustive()
    }
}

/// How far back `iat` is set, against clock drift between kedge and GitHub.
const JWT_BACKDATE: Duration = Duration::from_secs(60);
/// JWT lifetime from `iat`; GitHub refuses an `exp` more than 10 minutes ahead.
const JWT_LIFETIME: Duration = Duration::from_secs(600);

impl AppSigner {
    pub(crate) fn new(
        app_id: u64,
        installation_id: u64,
        private_key_pem: &str,
    ) -> Result<Self, ForgeError> {
        let key = EncodingKey::from_rsa_pem(private_key_pem.as_bytes()).map_err(|e| {
            ForgeError::AppKey {
                app_id,
                source: Box::new(e),
            }
        })?;
        Ok(Self {
            app_id,
            installation_id,
            key,
        })
    }

    /// A fresh RS256 JWT: `iat` a minute in the past, `exp` ten minutes after `iat`.
    pub(crate) fn jwt(&self, now: Timestamp) -> Result<Secret, ForgeError> {
        let iat = now.as_second() - JWT_BACKDATE.as_secs() as i64;
        let claims = AppClaims {
            iat,
            exp: iat + JWT_LIFETIME.as_secs() as i64,
            iss: self.app_id,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map(Secret)
            .map_err(|e| ForgeError::AppKey {
                app_id: self.app_id,
                source: Box::new(e),
            })
    }
}

/// An installation token and when GitHub said it expires.
#[derive(Debug, Clone)]
pub(crate) struct InstallationToken {
    pub(crate) token: Secret,
    pub(crate) expires_at: Timestamp,
}

impl InstallationToken {
    /// True while the token has more than `margin` left at `now`.
    pub(crate) fn is_fresh(&self, now: Timestamp, margin: Duration) -> bool {
        let left = self.expires_at.as_second() - now.as_second();
        left > margin.as_secs() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_redacts_secrets() {
        let token = GitHubAuth::Token("ghp_supersecret".into());
        assert!(!format!("{token:?}").contains("supersecret"));
        let app = GitHubAuth::App {
            app_id: 1,
            installation_id: 2,
            private_key_pem: "-----BEGIN RSA PRIVATE KEY-----secret".into(),
        };
        let shown = format!("{app:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("app_id: 1"), "{shown}");
        assert_eq!(format!("{:?}", Secret::new("ghs_x")), "<redacted>");
    }

    #[test]
    fn bad_key_is_refused_with_the_app_id() {
        let err = AppSigner::new(42, 7, "not a key").unwrap_err();
        assert!(err.to_string().starts_with("GitHub App 42:"), "{err}");
        // Issue 9: the JWT library's error is kept as the source, and shown.
        let source = std::error::Error::source(&err).expect("the key error is kept");
        assert!(err.to_string().ends_with(&source.to_string()), "{err}");
    }

    #[test]
    fn freshness_uses_the_margin() {
        let now = Timestamp::from_second(1_000_000).unwrap();
        let token = InstallationToken {
            token: Secret::new("t"),
            expires_at: Timestamp::from_second(1_000_000 + 299).unwrap(),
        };
        assert!(!token.is_fresh(now, Duration::from_secs(300)));
        assert!(token.is_fresh(now, Duration::from_secs(60)));
    }
}
