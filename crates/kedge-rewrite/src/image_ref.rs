//! Image references: parsing, name normalisation and the "what to change to" of an update.
//!
//! Parsing is deliberately lenient (the Docker grammar is not enforced) because existing manifests
//! hold references such as `app:{GENERATED_TAG}` that must still be matched by name, and a
//! reference is kept exactly as written. Names are compared through `kedge-image`, which owns
//! normalisation: a manifest's `nginx` and a configured `registry.hub.docker.com/library/nginx`
//! are the same image.

use std::fmt;
use std::str::FromStr;

use crate::RewriteError;

/// A parsed image reference `[registry[:port]/]path[:tag][@digest]`, as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// The name as written, without tag or digest (`nginx`, `localhost:5000/app`).
    pub name: String,
    /// The tag, if any.
    pub tag: Option<String>,
    /// The digest (`sha256:…`), if any.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses a reference; a `:` inside the registry part (a port) is not a tag.
    ///
    /// ```
    /// let r: kedge_rewrite::ImageRef = "localhost:5000/app:1.2@sha256:ab".parse().unwrap();
    /// assert_eq!(r.name, "localhost:5000/app");
    /// assert_eq!(r.tag.as_deref(), Some("1.2"));
    /// assert_eq!(r.digest.as_deref(), Some("sha256:ab"));
    /// ```
    pub fn parse(reference: &str) -> Result<Self, RewriteError> {
        let invalid = |reason: &str| RewriteError::InvalidReference {
            reference: reference.to_owned(),
            reason: reason.to_owned(),
        };
        if reference.is_empty() {
            return Err(invalid("empty reference"));
        }
        if reference
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid("contains whitespace"));
        }
        // Where the tag and digest start is kedge-image's rule; their content is not checked.
        let (name, tag, digest) = kedge_image::split_reference(reference);
        if digest == Some("") {
            return Err(invalid("empty digest after `@`"));
        }
        if name.is_empty() || name.ends_with('/') || name.starts_with('/') {
            return Err(invalid("empty name"));
        }
        if tag == Some("") {
            return Err(invalid("empty tag after `:`"));
        }
        Ok(Self {
            name: name.to_owned(),
            tag: tag.map(str::to_owned),
            digest: digest.map(str::to_owned),
        })
    }

    /// The normalised name, e.g. `docker.io/library/nginx` for `nginx`.
    pub fn normalised_name(&self) -> String {
        normalise_name(&self.name)
    }
}

impl FromStr for ImageRef {
    type Err = RewriteError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Splits a name into its registry host (if it has one) and its path, by `kedge-image`'s rule.
pub(crate) fn split_registry(name: &str) -> (Option<&str>, &str) {
    kedge_image::split_host(name)
}

/// Normalises an image name the way `kedge-image` does: `nginx`,
/// `registry.hub.docker.com/library/nginx` and `index.docker.io/nginx` all become
/// `docker.io/library/nginx`. A name `kedge-image` refuses (a template, upper case in the
/// path) is returned as written, so it only ever equals itself.
///
/// ```
/// use kedge_rewrite::normalise_name;
/// assert_eq!(normalise_name("nginx"), "docker.io/library/nginx");
/// assert_eq!(normalise_name("registry.hub.docker.com/library/nginx"), "docker.io/library/nginx");
/// assert_eq!(normalise_name("bitnami/redis"), "docker.io/bitnami/redis");
/// assert_eq!(normalise_name("Quay.IO/org/app"), "quay.io/org/app");
/// assert_eq!(normalise_name("ghcr.io/Org/App"), "ghcr.io/Org/App");
/// ```
pub fn normalise_name(name: &str) -> String {
    match kedge_image::ImageName::parse(name) {
        Ok(parsed) => parsed.to_string(),
        Err(_) => name.to_owned(),
    }
}

/// One part of a new reference: keep what is there, or set it (`None` removes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Leave this part as it is (`*` on the command line).
    Keep,
    /// Set this part; `None` removes it.
    Set(Option<String>),
}

impl Part {
    /// Applies this part to the current value.
    pub fn apply(&self, current: Option<&str>) -> Option<String> {
        match self {
            Part::Keep => current.map(str::to_owned),
            Part::Set(value) => value.clone(),
        }
    }
}

/// What a matched reference becomes.
///
/// Parsed from a full reference (`repo/app:1.2`, `app@sha256:…`, `app:1.2@sha256:…`): every part
/// is set and a missing tag or digest is removed. `*` keeps a part, as `kustomize edit set image`
/// does: `*:1.2` keeps the name, `app:*` keeps the tag, `app@*` keeps the digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The new name as the user wrote it (not normalised), or `None` to keep the current one.
    pub name: Option<String>,
    /// The new tag.
    pub tag: Part,
    /// The new digest.
    pub digest: Part,
}

impl Target {
    /// Parses a new reference, allowing `*` placeholders.
    pub fn parse(reference: &str) -> Result<Self, RewriteError> {
        let digest_keep = reference.ends_with("@*");
        let tag_keep = !digest_keep && reference.ends_with(":*");
        let name_keep = reference.starts_with('*');
        let mut text = reference.to_owned();
        if digest_keep || tag_keep {
            text.truncate(text.len() - 2);
        }
        if name_keep {
            text.replace_range(0..1, "keep-placeholder");
        }
        let parsed = ImageRef::parse(&text).map_err(|_| RewriteError::InvalidReference {
            reference: reference.to_owned(),
            reason: "expected NAME[:TAG][@DIGEST] (`*` keeps a part)".to_owned(),
        })?;
        if name_keep && parsed.name != "keep-placeholder" {
            return Err(RewriteError::InvalidReference {
                reference: reference.to_owned(),
                reason: "`*` must stand for the whole name".to_owned(),
            });
        }
        let tag_only_kept = tag_keep && parsed.digest.is_none();
        Ok(Self {
            name: (!name_keep).then_some(parsed.name),
            tag: if tag_keep || (digest_keep && parsed.tag.is_none()) {
                Part::Keep
            } else {
                Part::Set(parsed.tag)
            },
            digest: if digest_keep || tag_only_kept {
                Part::Keep
            } else {
                Part::Set(parsed.digest)
            },
        })
    }

    /// A target that replaces everything with `reference`.
    pub fn from_ref(reference: &ImageRef) -> Self {
        Self {
            name: Some(reference.name.clone()),
            tag: Part::Set(reference.tag.clone()),
            digest: Part::Set(reference.digest.clone()),
        }
    }

    /// The reference that `current` becomes. A new name that normalises to the current one
    /// (`busybox` for `docker.io/library/busybox`) keeps the name as written: only a real
    /// rename respells it.
    pub fn apply(&self, current: &ImageRef) -> ImageRef {
        let name = match &self.name {
            Some(name) if normalise_name(name) != normalise_name(&current.name) => name.clone(),
            _ => current.name.clone(),
        };
        ImageRef {
            name,
            tag: self.tag.apply(current.tag.as_deref()),
            digest: self.digest.apply(current.digest.as_deref()),
        }
    }
}

/// A Flux image policy named in a setter comment: `# {"$imagepolicy": "NAMESPACE:NAME"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicyRef {
    /// The policy's namespace.
    pub namespace: String,
    /// The policy's name.
    pub name: String,
}

/// One requested change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// Rewrite every reference whose normalised name equals `name` (container images, Kustomize
    /// `images:` entries, Helm image blocks).
    Image {
        /// The name to look for, as given; it matches after [`normalise_name`] on both sides.
        name: String,
        /// What the reference becomes.
        target: Target,
    },
    /// Rewrite every value marked with a setter comment naming `policy`, the way Flux does:
    /// the whole reference, or its `:name`, `:tag` or `:digest` part.
    Setter {
        /// The policy named in the marker.
        policy: PolicyRef,
        /// The policy's latest reference.
        latest: ImageRef,
    },
}

impl Update {
    /// An image update from `NAME=NEWREF` (the command-line form).
    ///
    /// ```
    /// let u = kedge_rewrite::Update::parse("nginx=nginx:1.27").unwrap();
    /// assert!(matches!(u, kedge_rewrite::Update::Image { .. }));
    /// ```
    pub fn parse(spec: &str) -> Result<Self, RewriteError> {
        let Some((name, reference)) = spec.split_once('=') else {
            return Err(RewriteError::InvalidReference {
                reference: spec.to_owned(),
                reason: "expected NAME=NEWREF".to_owned(),
            });
        };
        Self::image(name, reference)
    }

    /// An image update: references named `name` become `new_ref` (`*` keeps a part).
    ///
    /// `name` is a match key, as for `kustomize edit set image`: a valid image name matches
    /// every spelling of it (see [`normalise_name`]); anything else (a placeholder such as
    /// `<YOUR-IMAGE>`) matches only references that spell it the same.
    pub fn image(name: &str, new_ref: &str) -> Result<Self, RewriteError> {
        let parsed = ImageRef::parse(name)?;
        if parsed.tag.is_some() || parsed.digest.is_some() {
            return Err(RewriteError::InvalidReference {
                reference: name.to_owned(),
                reason: "NAME must not carry a tag or digest".to_owned(),
            });
        }
        Ok(Self::Image {
            name: name.to_owned(),
            target: Target::parse(new_ref)?,
        })
    }

    /// A setter update: values marked with policy `namespace:name` follow `latest`.
    pub fn setter(policy: &str, latest: &str) -> Result<Self, RewriteError> {
        let invalid = || RewriteError::InvalidReference {
            reference: policy.to_owned(),
            reason: "expected NAMESPACE:POLICY".to_owned(),
        };
        let (namespace, name) = policy.split_once(':').ok_or_else(invalid)?;
        if namespace.is_empty() || name.is_empty() || name.contains(':') {
            return Err(invalid());
        }
        Ok(Self::Setter {
            policy: PolicyRef {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            },
            latest: ImageRef::parse(latest)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_is_not_a_tag() {
        let r = ImageRef::parse("localhost:5000/my-project/ngnix").unwrap();
        assert_eq!(r.name, "localhost:5000/my-project/ngnix");
        assert_eq!(r.tag, None);
        let r = ImageRef::parse("foo.bar.foo:8800/foo/image1:foo-bar").unwrap();
        assert_eq!(r.name, "foo.bar.foo:8800/foo/image1");
        assert_eq!(r.tag.as_deref(), Some("foo-bar"));
    }

    #[test]
    fn names_normalise() {
        assert_eq!(
            normalise_name("docker.io/library/nginx"),
            "docker.io/library/nginx"
        );
        assert_eq!(
            normalise_name("index.docker.io/nginx"),
            "docker.io/library/nginx"
        );
        assert_eq!(
            normalise_name("registry.hub.docker.com/library/nginx"),
            normalise_name("nginx")
        );
        assert_eq!(normalise_name("localhost:5000/x"), "localhost:5000/x");
        assert_eq!(normalise_name("gcr.io/p/x"), "gcr.io/p/x");
    }

    #[test]
    fn target_placeholders() {
        let t = Target::parse("*:v1").unwrap();
        assert_eq!(t.name, None);
        assert_eq!(t.tag, Part::Set(Some("v1".into())));
        assert_eq!(t.digest, Part::Set(None));
        let t = Target::parse("my-image1:*").unwrap();
        assert_eq!(t.name.as_deref(), Some("my-image1"));
        assert_eq!((t.tag, t.digest), (Part::Keep, Part::Keep));
        let t = Target::parse("*@sha256:ab").unwrap();
        assert_eq!(t.tag, Part::Set(None));
        let t = Target::parse("img@*").unwrap();
        assert_eq!((t.tag, t.digest), (Part::Keep, Part::Keep));
        assert!(Target::parse("a b").is_err());
        assert!(Target::parse("x*:1").is_ok_and(|t| t.name.as_deref() == Some("x*")));
    }
}
