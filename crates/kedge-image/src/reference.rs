//! [`ImageRef`]: a full reference, `[registry/]path[:tag][@digest]`, normalised
//! for comparison and kept as written for rewriting.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::error::Problem;
use crate::grammar::{is_digest, is_host, is_tag};
use crate::host::strip_scheme;
use crate::name::split_host;
use crate::{ImageError, ImageName, RegistryHost};

/// An image reference: a name, an optional tag and an optional digest.
///
/// Equality and [`Display`](fmt::Display) use the canonical name
/// (`docker.io/library/nginx:1.25`); [`as_written`](Self::as_written) gives the
/// reference back as it was written, for a rewriter that must keep the user's
/// spelling.
///
/// ```
/// use kedge_image::ImageRef;
/// let r = ImageRef::parse("nginx:1.25")?;
/// assert_eq!(r.to_string(), "docker.io/library/nginx:1.25");
/// assert_eq!(r.as_written(), "nginx:1.25");
/// assert_eq!((r.registry(), r.repository(), r.tag()), ("docker.io", "library/nginx", Some("1.25")));
/// assert_eq!(r, ImageRef::parse("index.docker.io/library/nginx:1.25")?);
///
/// let pinned = ImageRef::parse(&format!("localhost:5000/app:1.2@sha256:{}", "ab".repeat(32)))?;
/// assert_eq!(pinned.written_host(), Some("localhost:5000"));
/// assert_eq!(pinned.tag(), Some("1.2"));
/// assert!(pinned.digest().is_some_and(|d| d.starts_with("sha256:abab")));
/// # Ok::<(), kedge_image::ImageError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ImageRef {
    name: ImageName,
    written_name: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl ImageRef {
    /// Parses a reference as users write it in configuration and manifests.
    /// Nothing is trimmed: white space is an error.
    pub fn parse(input: &str) -> Result<Self, ImageError> {
        let fail = |problem| ImageError::reference(input, problem);
        if input.is_empty() {
            return Err(fail(Problem::Empty));
        }
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(fail(Problem::WhiteSpace));
        }
        let (written_name, tag, digest) = split_reference(input);
        if digest.is_some_and(|d| !is_digest(d)) {
            return Err(fail(Problem::Digest));
        }
        if tag.is_some_and(|t| !is_tag(t)) {
            return Err(fail(Problem::Tag));
        }
        let (host, path) = split_host(written_name);
        let host = match host {
            Some(host) if is_host(host) => RegistryHost::canonical(host),
            Some(_) => return Err(fail(Problem::Host)),
            None => RegistryHost::docker_hub(),
        };
        let path_start = written_name.len() - path.len();
        let name = ImageName::with_path(host, input, path_start, written_name.len())?;
        Ok(Self {
            name,
            written_name: written_name.to_owned(),
            tag: tag.map(str::to_owned),
            digest: digest.map(str::to_owned),
        })
    }

    /// Parses a reference as webhook payloads write it: surrounding white space,
    /// an `http://` or `https://` scheme and trailing `/`s are dropped
    /// (`https://harbor.example.com/library/app:v1`).
    pub fn parse_payload(text: &str) -> Result<Self, ImageError> {
        let trimmed = strip_scheme(text.trim()).trim_end_matches('/');
        Self::parse(trimmed).map_err(|e| match e {
            ImageError::InvalidReference { problem, .. } => ImageError::reference(text, problem),
            other => other,
        })
    }

    /// The name, in canonical form.
    pub fn name(&self) -> &ImageName {
        &self.name
    }

    /// The name, without tag and digest.
    pub fn into_name(self) -> ImageName {
        self.name
    }

    /// The registry in canonical form (`docker.io`).
    pub fn registry(&self) -> &str {
        self.name.registry()
    }

    /// The repository path in canonical form (`library/nginx`).
    pub fn repository(&self) -> &str {
        self.name.repository()
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest (`sha256:…`), if any.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The name as written, without tag or digest (`nginx`, `GHCR.IO/org/app`).
    pub fn written_name(&self) -> &str {
        &self.written_name
    }

    /// The registry host as written, when the reference names one.
    pub fn written_host(&self) -> Option<&str> {
        split_host(&self.written_name).0
    }

    /// The whole reference as written (`nginx:1.25`).
    pub fn as_written(&self) -> String {
        let mut written = self.written_name.clone();
        if let Some(tag) = &self.tag {
            written.push(':');
            written.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            written.push('@');
            written.push_str(digest);
        }
        written
    }
}

/// Splits `name[:tag][@digest]` into its three parts without checking any of
/// them: the digest starts at the first `@`, the tag at the first `:` after the
/// name's last `/` (a `:` before it belongs to a port).
///
/// ```
/// use kedge_image::split_reference;
/// assert_eq!(split_reference("localhost:5000/app:1.2@sha256:ab"), ("localhost:5000/app", Some("1.2"), Some("sha256:ab")));
/// assert_eq!(split_reference("ghcr.io/Codertocat/hello-world:"), ("ghcr.io/Codertocat/hello-world", Some(""), None));
/// assert_eq!(split_reference("nginx"), ("nginx", None, None));
/// ```
pub fn split_reference(reference: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (reference, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[last_slash..].find(':') {
        Some(colon) => (
            &rest[..last_slash + colon],
            Some(&rest[last_slash + colon + 1..]),
            digest,
        ),
        None => (rest, None, digest),
    }
}

impl PartialEq for ImageRef {
    fn eq(&self, other: &Self) -> bool {
        (&self.name, &self.tag, &self.digest) == (&other.name, &other.tag, &other.digest)
    }
}

impl Eq for ImageRef {}

impl Hash for ImageRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (&self.name, &self.tag, &self.digest).hash(state);
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl FromStr for ImageRef {
    type Err = ImageError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}
