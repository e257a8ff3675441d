//! The webhook crate's error type.

/// Everything that can make a webhook delivery unusable.
///
/// Authentication failures ([`WebhookError::is_unauthorized`]) are kept apart
/// from payload errors so a server can answer 401 for the former and 400 for
/// the latter. No variant ever carries a secret or a received signature.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The body is not JSON, or a field has the wrong type.
    #[error("{payload} payload: invalid JSON at {path}: {source}")]
    InvalidJson {
        /// Which payload kind was being parsed (`github push`, `harbor`).
        payload: &'static str,
        /// Where in the document the problem is (`events[0].target`), `.` for the root.
        path: String,
        /// The parser's message, with line and column.
        #[source]
        source: serde_json::Error,
    },

    /// A field the payload needs is missing or empty.
    #[error("{payload} payload: missing {field}")]
    MissingField {
        /// Which payload kind was being parsed.
        payload: &'static str,
        /// The field, as the vendor names it (`repository.repo_name`).
        field: &'static str,
    },

    /// The payload names no registry host and the receiver configures none.
    #[error(
        "{payload} payload: no registry host for repository {repository:?}; set the receiver's registry"
    )]
    UnknownRegistry {
        /// Which payload kind was being parsed.
        payload: &'static str,
        /// The repository the payload named.
        repository: String,
    },

    /// An image name in the payload is not a valid `registry/repository`
    /// (the rules are `kedge-image`'s).
    #[error(transparent)]
    InvalidImage(#[from] kedge_image::ImageError),

    /// A tag or digest in the payload is not one the OCI distribution spec allows.
    #[error("invalid {what} \"{input}\" in the payload")]
    InvalidValue {
        /// `tag` or `digest`.
        what: &'static str,
        /// The value, control characters escaped and cut short.
        input: String,
    },

    /// The request carries no signature or credentials where the receiver wants some.
    #[error("missing credentials: expected {expected}")]
    MissingCredentials {
        /// What was expected: a header name, `basic auth` or `token`.
        expected: String,
    },

    /// The signature or credentials do not match the configured secret.
    #[error("{scheme} credentials do not match")]
    BadCredentials {
        /// The scheme that failed: `hmac-sha256`, `header`, `basic`, `token`.
        scheme: &'static str,
    },

    /// A signature header is not of the form the scheme requires (prefix, hex).
    #[error("malformed signature in {header}")]
    MalformedSignature {
        /// The header holding the signature.
        header: String,
    },

    /// A registry source kind name that kedge does not know.
    #[error(
        "unknown registry source {0:?}: expected distribution, gitlab, dockerhub, harbor, quay, acr, jfrog or generic"
    )]
    UnknownSource(String),
}

impl WebhookError {
    /// True for authentication failures (answer 401), false for payload errors (answer 400).
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self,
            Self::MissingCredentials { .. }
                | Self::BadCredentials { .. }
                | Self::MalformedSignature { .. }
        )
    }
}

/// Parses `body` as JSON into `T`, naming the failing path on error.
pub(crate) fn from_json<'a, T: serde::Deserialize<'a>>(
    payload: &'static str,
    body: &'a [u8],
) -> Result<T, WebhookError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        WebhookError::InvalidJson {
            payload,
            path,
            source: e.into_inner(),
        }
    })?;
    deserializer
        .end()
        .map_err(|source| WebhookError::InvalidJson {
            payload,
            path: ".".to_owned(),
            source,
        })?;
    Ok(value)
}
