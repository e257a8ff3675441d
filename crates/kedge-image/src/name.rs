//! [`ImageName`]: a repository in a registry, without tag or digest, in one
//! canonical form.

use std::fmt;
use std::str::FromStr;

use crate::error::Problem;
use crate::grammar::{MAX_REPOSITORY_LEN, is_host, is_repository_path};
use crate::host::host_of_server;
use crate::{ImageError, ImageRef, RegistryHost};

/// A repository in a registry, named without tag or digest:
/// `127.0.0.1:5000/team/app`, `ghcr.io/org/app`, or `nginx` (Docker Hub's
/// `library/nginx`). Two names are equal when they name the same repository,
/// however they were written.
///
/// ```
/// use kedge_image::ImageName;
/// let hub: ImageName = "registry.hub.docker.com/library/nginx".parse()?;
/// assert_eq!(hub, "nginx".parse()?);
/// assert_eq!(hub.to_string(), "docker.io/library/nginx");
/// assert_eq!((hub.registry(), hub.repository()), ("docker.io", "library/nginx"));
/// let ghcr: ImageName = "GHCR.IO/org/app".parse()?;
/// assert_eq!(ghcr.registry(), "ghcr.io");
/// assert!("ghcr.io/Org/App".parse::<ImageName>().is_err());
/// # Ok::<(), kedge_image::ImageError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageName {
    host: RegistryHost,
    repository: String,
}

impl ImageName {
    /// Parses a name as users write it; a tag or a digest is refused.
    pub fn parse(input: &str) -> Result<Self, ImageError> {
        let reference = ImageRef::parse(input)?;
        if reference.tag().is_some() {
            return Err(ImageError::reference(input, Problem::UnexpectedTag));
        }
        if reference.digest().is_some() {
            return Err(ImageError::reference(input, Problem::UnexpectedDigest));
        }
        Ok(reference.into_name())
    }

    /// A name from a registry and a repository path given apart, as webhook
    /// payloads give them: the registry may carry a scheme and a path
    /// (`https://quay.io/`), the path surrounding `/`s and white space.
    ///
    /// ```
    /// let name = kedge_image::ImageName::from_parts("https://registry.hub.docker.com/", "nginx")?;
    /// assert_eq!(name.to_string(), "docker.io/library/nginx");
    /// # Ok::<(), kedge_image::ImageError>(())
    /// ```
    pub fn from_parts(registry: &str, repository: &str) -> Result<Self, ImageError> {
        let host = host_of_server(registry);
        let path = repository.trim().trim_matches('/');
        let input = format!("{host}/{path}");
        if !is_host(host) {
            return Err(ImageError::reference(&input, Problem::Host));
        }
        let path_start = host.len() + 1;
        Self::with_path(
            RegistryHost::canonical(host),
            &input,
            path_start,
            input.len(),
        )
    }

    /// The name of `path` in `host`, checked; `input[path_start..path_end]` is the
    /// path as written, for the suggestion of an upper-case error.
    pub(crate) fn with_path(
        host: RegistryHost,
        input: &str,
        path_start: usize,
        path_end: usize,
    ) -> Result<Self, ImageError> {
        let path = &input[path_start..path_end];
        if !is_repository_path(path) {
            let lower = path.to_ascii_lowercase();
            let problem = if lower != path && is_repository_path(&lower) {
                let suggestion = format!("{}{lower}{}", &input[..path_start], &input[path_end..]);
                Problem::UpperCase { suggestion }
            } else {
                Problem::Repository
            };
            return Err(ImageError::reference(input, problem));
        }
        let repository = if host.is_docker_hub() && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_owned()
        };
        if repository.len() > MAX_REPOSITORY_LEN {
            return Err(ImageError::reference(input, Problem::RepositoryTooLong));
        }
        Ok(Self { host, repository })
    }

    /// The registry in canonical form (`docker.io`, `ghcr.io`, `127.0.0.1:5000`).
    pub fn registry(&self) -> &str {
        self.host.as_str()
    }

    /// The registry as a typed host.
    pub fn host(&self) -> &RegistryHost {
        &self.host
    }

    /// The host kedge sends API requests to (`index.docker.io` for Docker Hub).
    pub fn api_host(&self) -> &str {
        self.host.api_host()
    }

    /// The repository path inside the registry (`library/nginx`).
    pub fn repository(&self) -> &str {
        &self.repository
    }
}

/// Splits a name as written into the registry host it starts with, if any, and
/// the rest. The first `/`-separated component is a host when it holds a `.` or
/// a `:`, or is `localhost` (any case): Docker's rule, so `team/app` is on
/// Docker Hub and `registry.local/app` is not.
///
/// ```
/// use kedge_image::split_host;
/// assert_eq!(split_host("localhost:5000/app"), (Some("localhost:5000"), "app"));
/// assert_eq!(split_host("team/app"), (None, "team/app"));
/// assert_eq!(split_host("nginx"), (None, "nginx"));
/// ```
pub fn split_host(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':']) || first.eq_ignore_ascii_case("localhost") =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.host, self.repository)
    }
}

impl FromStr for ImageName {
    type Err = ImageError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}
