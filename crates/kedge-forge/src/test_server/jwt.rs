//! Checks a GitHub App JWT the way GitHub does: RS256 signed by the App's key,
//! issued by the App, and expiring no more than ten minutes ahead.

use jiff::Timestamp;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// The claims of a GitHub App JWT.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct AppJwtClaims {
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// The App id (a number, or a string), or the App's client id (a string).
    pub iss: serde_json::Value,
}

/// Verifies `token` against the App's public key; GitHub's message on failure.
pub fn verify(token: &str, app_id: u64, public_key_pem: &str) -> Result<AppJwtClaims, String> {
    let key = DecodingKey::from_rsa_pem(public_key_pem.as_bytes())
        .map_err(|e| format!("test server: bad public key: {e}"))?;
    let mut validation = Validation::new(Algorithm::RS256);
    // `iss` is checked below: jsonwebtoken only compares string issuers.
    validation.set_required_spec_claims(&["exp", "iat"]);
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<AppJwtClaims>(token, &key, &validation)
        .map_err(|e| format!("A JSON web token could not be decoded ({e})"))?
        .claims;
    let issuer_matches = match &claims.iss {
        serde_json::Value::Number(n) => n.as_u64() == Some(app_id),
        serde_json::Value::String(s) => s.parse() == Ok(app_id),
        _ => false,
    };
    if !issuer_matches {
        return Err(format!(
            "'Issuer' claim ('iss') {} does not match the App id {app_id}",
            claims.iss
        ));
    }
    let now = Timestamp::now().as_second();
    if claims.exp > now + 600 {
        return Err("'Expiration time' claim ('exp') is too far in the future".into());
    }
    if claims.iat > now {
        return Err(
            "'Issued at' claim ('iat') must be an Integer representing a time in the past".into(),
        );
    }
    Ok(claims)
}
