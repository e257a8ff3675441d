//! The server crate's error type.

use std::io;

/// What stops the server from starting or running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A body or connection limit that would refuse everything.
    #[error("invalid server limit: {0}")]
    InvalidLimit(&'static str),

    /// A receiver has no secret and is not marked insecure.
    #[error(
        "receiver {receiver:?} has no secret; configure one, or mark it insecure to accept unauthenticated deliveries"
    )]
    ReceiverWithoutSecret {
        /// The receiver's name (`github` for the GitHub receiver).
        receiver: String,
    },

    /// A receiver's secret is empty, which anyone could match.
    #[error("receiver {receiver:?} has an empty secret; anyone could match it")]
    EmptySecret {
        /// The receiver's name (`github` for the GitHub receiver).
        receiver: String,
    },

    /// Two receivers share a name, so `/webhooks/registry/{name}` would be ambiguous.
    #[error("receiver name {0:?} is used twice")]
    DuplicateReceiver(String),

    /// A receiver name that cannot be a URL path segment.
    #[error("receiver name {0:?} must be non-empty and hold only letters, digits, '-' and '_'")]
    InvalidReceiverName(String),

    /// Two tracked images share an alias, so their jobs would be merged.
    #[error("image alias {0:?} is used twice")]
    DuplicateAlias(String),

    /// A tracked image name is not a valid `registry/repository`.
    #[error("tracked image {alias:?}: {source}")]
    InvalidImage {
        /// The alias the image was configured under.
        alias: String,
        /// Why the name was refused.
        #[source]
        source: kedge_webhook::WebhookError,
    },

    /// A queue setting that cannot work (zero capacity, zero concurrency).
    #[error("invalid queue setting: {0}")]
    InvalidQueueSettings(&'static str),

    /// Serving HTTP failed (the listener broke).
    #[error("serving {what}: {source}")]
    Serve {
        /// `webhooks` or `metrics`.
        what: &'static str,
        /// The IO error.
        #[source]
        source: io::Error,
    },
}
