//! The registry crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while talking to a registry or reading credentials.
///
/// Every variant names the registry (and the repository where there is one), so a
/// message printed on its own still tells the user where to look.
///
/// URLs in messages have their credentials redacted, and text a registry sent is
/// escaped, so printing an error cannot leak a token or drive the terminal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The image name is not a valid `registry/repository` (see `kedge-image`).
    #[error(transparent)]
    InvalidImage(#[from] kedge_image::ImageError),

    /// A `--platform` value was not `OS/ARCH[/VARIANT]`.
    #[error("invalid platform {0:?}: expected OS/ARCH or OS/ARCH/VARIANT, for example linux/arm64")]
    InvalidPlatform(String),

    /// The registry could not be reached, even after retries.
    #[error(
        "registry {registry} ({repository}): cannot connect after {attempts} attempts: {source}"
    )]
    Connect {
        /// Registry host.
        registry: String,
        /// Repository being accessed.
        repository: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last transport error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The registry kept answering with a retryable status (429, 5xx) until retries ran out.
    #[error(
        "registry {registry} ({repository}): gave up after {attempts} attempts, last answer HTTP {status}"
    )]
    RetriesExhausted {
        /// Registry host.
        registry: String,
        /// Repository being accessed.
        repository: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last status code.
        status: u16,
    },

    /// The registry refused the credentials, or demanded some where there were none.
    #[error("registry {registry} ({repository}): authentication failed: {reason}")]
    Unauthorized {
        /// Registry host.
        registry: String,
        /// Repository being accessed.
        repository: String,
        /// What the registry or the token service said.
        reason: String,
    },

    /// The repository or tag does not exist.
    #[error("registry {registry}: {what} not found")]
    NotFound {
        /// Registry host.
        registry: String,
        /// The repository, or `repository:tag`, that is missing.
        what: String,
    },

    /// The registry answered with an unexpected status.
    #[error("registry {registry} ({repository}): {url} answered HTTP {status}: {body}")]
    Status {
        /// Registry host.
        registry: String,
        /// Repository being accessed.
        repository: String,
        /// Request URL.
        url: String,
        /// Status code.
        status: u16,
        /// The start of the response body.
        body: String,
    },

    /// The registry answered with a body kedge could not understand.
    #[error("registry {registry} ({repository}): invalid response from {url}: {reason}")]
    InvalidResponse {
        /// Registry host.
        registry: String,
        /// Repository being accessed.
        repository: String,
        /// Request URL.
        url: String,
        /// What was wrong with it.
        reason: String,
    },

    /// A credentials file could not be read or parsed.
    #[error("credentials file {path}: {reason}")]
    CredentialsFile {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },

    /// A Docker credential helper failed.
    #[error("credential helper docker-credential-{helper} for {registry}: {reason}")]
    CredentialHelper {
        /// Helper name (the part after `docker-credential-`).
        helper: String,
        /// Registry host the credentials were asked for.
        registry: String,
        /// What went wrong.
        reason: String,
    },

    /// A custom CA certificate could not be loaded.
    #[error("CA certificate {path} for registry {registry}: {source}")]
    CaCertificate {
        /// Registry host.
        registry: String,
        /// The certificate file.
        path: PathBuf,
        /// What was wrong with it: the file system's or the PEM parser's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A response body was larger than `max_body_bytes`; kedge stopped reading it.
    #[error(
        "registry {registry} ({repository}): {url} sent more than {limit} bytes; \
         raise maxBodyBytes in the registry's settings if this is expected"
    )]
    BodyTooLarge {
        /// Registry host.
        registry: String,
        /// Repository being accessed.
        repository: String,
        /// Request URL (credentials redacted).
        url: String,
        /// The limit in bytes.
        limit: u64,
    },

    /// The repository lists more tags than `max_tags`.
    #[error(
        "registry {registry} ({repository}): more than {limit} tags; \
         raise maxTags in the registry's settings if this is expected"
    )]
    TooManyTags {
        /// Registry host.
        registry: String,
        /// Repository being accessed.
        repository: String,
        /// The limit.
        limit: usize,
    },

    /// `Link` pagination came back to a page already read.
    #[error(
        "registry {registry} ({repository}): tag-list pages loop back to {url} after {pages} pages"
    )]
    PaginationLoop {
        /// Registry host.
        registry: String,
        /// Repository being accessed.
        repository: String,
        /// The page linked a second time (credentials redacted).
        url: String,
        /// Pages read before the loop was seen.
        pages: usize,
    },

    /// Discovery (the tag listing, then build-time lookups) took longer than
    /// `discovery_deadline`.
    #[error(
        "registry {registry} ({repository}): tag discovery exceeded its {}s deadline{}",
        .deadline.as_secs_f64(),
        .pages.map(|n| format!(" after {n} tag-list pages")).unwrap_or_default()
    )]
    Deadline {
        /// Registry host.
        registry: String,
        /// Repository being accessed.
        repository: String,
        /// The deadline.
        deadline: std::time::Duration,
        /// Tag-list pages fully read before it passed, when it passed while listing.
        pages: Option<usize>,
    },

    /// The registry redirected to another origin, which its settings do not allow.
    #[error(
        "registry {registry} ({repository}): {url} redirects to another origin, {location}; \
         refused (set allowCrossOriginRedirects in the registry's settings to follow it)"
    )]
    CrossOriginRedirect {
        /// Registry host.
        registry: String,
        /// Repository being accessed.
        repository: String,
        /// The URL that redirected (credentials redacted).
        url: String,
        /// Where it pointed (credentials redacted).
        location: String,
    },

    /// No trust roots were found for an HTTPS registry.
    #[error(
        "registry {registry}: no CA certificates found on this system \
         (install ca-certificates, or give the registry a caFile)"
    )]
    NoTrustRoots {
        /// Registry host.
        registry: String,
    },

    /// The HTTP client could not be built.
    #[error("registry {registry}: cannot build HTTP client: {source}")]
    Client {
        /// Registry host.
        registry: String,
        /// The builder's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl RegistryError {
    /// True when the error means the registry could not be reached or used at all
    /// (as opposed to a missing tag or a bad argument).
    pub fn is_connection(&self) -> bool {
        matches!(
            self,
            Self::Connect { .. }
                | Self::RetriesExhausted { .. }
                | Self::Client { .. }
                | Self::Deadline { .. }
                | Self::NoTrustRoots { .. }
        )
    }
}
