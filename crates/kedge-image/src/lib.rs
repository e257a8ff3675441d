//! Container image references for kedge: one owner for parsing, validating and
//! normalising registry hosts, repository paths, tags and digests, so the
//! registry client, the rewriter, the webhook parsers and credential lookup
//! agree on which names are the same image.
//!
//! Pure: no IO, no async.
//!
//! - [`ImageName`] is a repository in a registry (`docker.io/library/nginx`);
//!   [`ImageRef`] adds a tag and a digest and keeps the reference as written.
//! - [`RegistryHost`] is a host in canonical form, for keys such as credentials.
//! - [`validate_tag`], [`validate_repository`], [`validate_registry_host`] and
//!   [`validate_digest`] check one part on its own (registry listings, payloads).
//!
//! ```
//! use kedge_image::{ImageName, ImageRef};
//! let configured: ImageName = "registry.hub.docker.com/library/nginx".parse()?;
//! let in_manifest = ImageRef::parse("nginx:1.25")?;
//! assert_eq!(in_manifest.name(), &configured);
//! assert_eq!(in_manifest.as_written(), "nginx:1.25");
//! # Ok::<(), kedge_image::ImageError>(())
//! ```
//!
//! # Decisions
//!
//! - **Docker Hub** is written `docker.io` (Docker's own short form). Its aliases
//!   `index.docker.io`, `registry-1.docker.io` and `registry.hub.docker.com`
//!   ([`DOCKER_HUB_ALIASES`]) mean the same registry, in names and in credential
//!   keys; `hub.docker.com` is the web site, not a registry, and is not one. A
//!   one-component Docker Hub path gets `library/` (`nginx` is
//!   `docker.io/library/nginx`). API requests go to [`DOCKER_HUB_API`].
//! - **A host** is the first `/`-separated component when it holds a `.` or a
//!   `:`, or is `localhost` ([`split_host`], Docker's rule; unlike Docker, an
//!   upper-case first component is not a host, so `MyOrg/app` is refused with a
//!   suggestion instead of naming a registry `myorg`). Hosts are case-insensitive
//!   and kept in lower case (`GHCR.IO` is `ghcr.io`). A port is part of the host
//!   and is not defaulted away (`ghcr.io:443` is its own key, as for Docker).
//!   IPv4 addresses and bracketed IPv6 addresses (`[::1]:5000`) are hosts.
//! - **Upper case in a repository path is an error**, everywhere, as the
//!   distribution spec says (registries and container runtimes refuse it). The
//!   error names the reference and suggests the lower-case spelling:
//!   `ghcr.io/Org/App` is refused with `write "ghcr.io/org/app"`. A webhook
//!   parser may lower-case a vendor's display name where the vendor documents
//!   that its registry does (GitHub's `ghcr.io`).
//! - **Tags** follow `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`; **digests** follow the
//!   OCI image spec's `algorithm:encoded` grammar, with the registered
//!   algorithms checked for length and lower-case hex (`sha256`: 64 digits,
//!   `sha512`: 128).
//! - **As written**: [`ImageRef::parse`] accepts what a user writes in a
//!   configuration or a manifest, nothing more (no white space, no scheme);
//!   [`ImageRef::parse_payload`], [`ImageName::from_parts`] and
//!   [`RegistryHost::parse_server`] also accept what payloads and Docker
//!   configuration files write: `https://` in front, trailing `/`s, a path
//!   after the host.
//! - **Length**: a repository path is at most 255 characters, `library/` included.

#![deny(missing_docs)]

mod error;
mod grammar;
mod host;
mod name;
mod reference;

pub use error::{ImageError, NameKind, Problem};
pub use grammar::{
    MAX_DIGEST_LEN, MAX_HOST_LEN, MAX_REPOSITORY_LEN, MAX_TAG_LEN, validate_digest,
    validate_registry_host, validate_repository, validate_tag,
};
pub use host::{DOCKER_HUB, DOCKER_HUB_ALIASES, DOCKER_HUB_API, RegistryHost};
pub use name::{ImageName, split_host};
pub use reference::{ImageRef, split_reference};
