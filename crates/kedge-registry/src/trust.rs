//! HTTP clients for one registry host, built on first use: a plain-HTTP client
//! never reads a certificate, and the system's trust roots (the CA bundle and
//! every file of the certificate directory) are read once per process, the first
//! time any host speaks HTTPS.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use crate::RegistryError;

/// The system's trust roots, read once; `None` until the first HTTPS client.
static SYSTEM_ROOTS: OnceLock<Vec<reqwest::Certificate>> = OnceLock::new();

fn system_roots() -> &'static [reqwest::Certificate] {
    SYSTEM_ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::debug!(%error, "a system CA certificate could not be read");
        }
        found
            .certs
            .iter()
            .filter_map(|der| reqwest::Certificate::from_der(der.as_ref()).ok())
            .collect()
    })
}

/// What every client of a host shares: identification, timeouts, and no
/// automatic redirects (the transport follows them itself, checking origins).
fn builder(request_timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("kedge/", env!("CARGO_PKG_VERSION")))
        .timeout(request_timeout)
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
}

/// A client for `http://` URLs only: no trust roots are loaded.
pub(crate) fn plain_client(
    registry: &str,
    request_timeout: Duration,
) -> Result<reqwest::Client, RegistryError> {
    builder(request_timeout)
        .tls_certs_only([])
        .build()
        .map_err(|source| RegistryError::Client {
            registry: registry.to_owned(),
            source: source.into(),
        })
}

/// A client for `https://` URLs trusting the system roots, plus `ca_file` when given.
pub(crate) fn tls_client(
    registry: &str,
    request_timeout: Duration,
    ca_file: Option<&Path>,
) -> Result<reqwest::Client, RegistryError> {
    let mut roots: Vec<reqwest::Certificate> = system_roots().to_vec();
    if let Some(path) = ca_file {
        let ca_error =
            |source: Box<dyn std::error::Error + Send + Sync>| RegistryError::CaCertificate {
                registry: registry.to_owned(),
                path: path.to_owned(),
                source,
            };
        let pem = std::fs::read(path).map_err(|e| ca_error(e.into()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ca_error(e.into()))?;
        if certs.is_empty() {
            return Err(ca_error("no PEM certificate found".into()));
        }
        roots.extend(certs);
    }
    if roots.is_empty() {
        return Err(RegistryError::NoTrustRoots {
            registry: registry.to_owned(),
        });
    }
    builder(request_timeout)
        .tls_certs_only(roots)
        .build()
        .map_err(|source| RegistryError::Client {
            registry: registry.to_owned(),
            source: source.into(),
        })
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn issue_9_an_unreadable_ca_file_keeps_the_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("ca.pem");
        let Err(error) = tls_client("registry.example", Duration::from_secs(5), Some(&missing))
        else {
            panic!("a missing CA file was accepted");
        };
        assert!(
            matches!(error, RegistryError::CaCertificate { .. }),
            "{error:?}"
        );
        let io = error
            .source()
            .and_then(|source| source.downcast_ref::<std::io::Error>())
            .expect("the io error is the source");
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
        let shown = error.to_string();
        assert!(
            shown.starts_with(&format!(
                "CA certificate {} for registry registry.example: ",
                missing.display()
            )),
            "{shown}"
        );
        assert!(shown.ends_with(&io.to_string()), "{shown}");
    }
}
