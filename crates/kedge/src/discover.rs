//! Tag discovery: list an image's tags, apply a [`TagPolicy`], and resolve the
//! chosen tag to a digest.

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use futures::stream::{self, StreamExt, TryStreamExt};
use kedge_policy::{FilterReport, NoMatch, TagPolicy};
use kedge_registry::{ImageInfo, ImageName, Platform, Registry, RegistryError};

/// Build-time lookups in flight at once per discovery; the registry client's own
/// per-host limits still apply underneath.
const INFO_CONCURRENCY: usize = 16;

/// Options of one discovery run besides the image and its policy.
#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    /// Keep only tags that have an image for this platform.
    pub platform: Option<Platform>,
    /// The time `min-age` is measured from; `None` means now.
    pub now: Option<SystemTime>,
}

/// The tag kedge chose, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// The image the tag belongs to.
    pub image: ImageName,
    /// The chosen tag.
    pub tag: String,
    /// The digest the tag points at (an index for multi-arch images).
    pub digest: String,
    /// The platform's own manifest digest, when a platform was asked for and the tag is an index.
    pub platform_digest: Option<String>,
    /// Tags the registry listed.
    pub seen: usize,
    /// Tags that passed every filter.
    pub candidates: usize,
}

/// Why discovery did not choose a tag.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoverError {
    /// The registry could not be asked.
    #[error(transparent)]
    Registry(#[from] RegistryError),

    /// No tag passed the policy's filters.
    #[error("{image}: no tag matches: {}", describe(.no_match, .platform.as_ref(), *.removed_by_platform))]
    NoMatch {
        /// The image.
        image: ImageName,
        /// What each filter removed.
        no_match: NoMatch,
        /// The platform asked for, if any.
        platform: Option<Platform>,
        /// Tags removed because they have no image for `platform`.
        removed_by_platform: usize,
    },
}

fn describe(no_match: &NoMatch, platform: Option<&Platform>, removed: usize) -> String {
    match platform {
        Some(platform) if removed > 0 => {
            format!("{no_match}; platform {platform} removed {removed}")
        }
        _ => no_match.to_string(),
    }
}

/// Chooses the tag of `image` that `policy` allows, and resolves its digest.
///
/// Build times are fetched only when the policy needs them (newest-build, min-age),
/// and then for the tags that passed the name filters only.
///
/// The whole run is bounded by the registry's
/// [`discovery_deadline`](Registry::discovery_deadline).
pub async fn discover<R: Registry>(
    registry: &R,
    image: &ImageName,
    policy: &TagPolicy,
    options: &DiscoverOptions,
) -> Result<Discovery, DiscoverError> {
    let run = discover_unbounded(registry, image, policy, options);
    let Some(deadline) = registry.discovery_deadline(image) else {
        return run.await;
    };
    match tokio::time::timeout(deadline, run).await {
        Ok(result) => result,
        Err(_) => Err(DiscoverError::Registry(RegistryError::Deadline {
            registry: image.registry().to_owned(),
            repository: image.repository().to_owned(),
            deadline,
            pages: None,
        })),
    }
}

async fn discover_unbounded<R: Registry>(
    registry: &R,
    image: &ImageName,
    policy: &TagPolicy,
    options: &DiscoverOptions,
) -> Result<Discovery, DiscoverError> {
    let now = options.now.unwrap_or_else(SystemTime::now);
    let platform = options.platform.as_ref();
    let tags = registry.list_tags(image).await?;
    tracing::debug!(image = %image, tags = tags.len(), "listed tags");

    let (infos, mut excluded) = if policy.needs_build_time() {
        build_infos(registry, image, policy, &tags, platform).await?
    } else {
        (HashMap::new(), HashSet::new())
    };

    // Each round removes one tag without the platform, so this ends.
    loop {
        let remaining = tags
            .iter()
            .map(String::as_str)
            .filter(|t| !excluded.contains(*t));
        let filtered = policy.filter(remaining);
        let build_time = |tag: &str| infos.get(tag).and_then(|i| i.created);
        let selected = match policy.select(&filtered, &build_time, now) {
            Ok(selected) => selected,
            Err(no_match) => {
                return Err(DiscoverError::NoMatch {
                    image: image.clone(),
                    no_match: with_seen(no_match, tags.len()),
                    platform: options.platform.clone(),
                    removed_by_platform: excluded.len(),
                });
            }
        };
        let info = match infos.get(selected.tag) {
            Some(info) => Some(info.clone()),
            None if platform.is_some() => {
                registry.image_info(image, selected.tag, platform).await?
            }
            None => None,
        };
        if platform.is_some() && info.is_none() {
            excluded.insert(selected.tag.to_owned());
            continue;
        }
        let (digest, platform_digest) = match info {
            Some(info) => (info.digest, info.platform_digest),
            None => (registry.manifest_digest(image, selected.tag).await?, None),
        };
        return Ok(Discovery {
            image: image.clone(),
            tag: selected.tag.to_owned(),
            digest,
            platform_digest,
            seen: tags.len(),
            candidates: selected.candidates,
        });
    }
}

/// The image info of every tag the policy's filters keep, fetched
/// concurrently (newest-build needs their build times), and the tags that
/// have no image for `platform`.
async fn build_infos<R: Registry>(
    registry: &R,
    image: &ImageName,
    policy: &TagPolicy,
    tags: &[String],
    platform: Option<&Platform>,
) -> Result<(HashMap<String, ImageInfo>, HashSet<String>), RegistryError> {
    let names: Vec<String> = policy
        .filter(tags.iter().map(String::as_str))
        .candidates()
        .map(str::to_owned)
        .collect();
    let fetched: Vec<(String, Option<ImageInfo>)> = stream::iter(names)
        .map(|tag| async move {
            let info = registry.image_info(image, &tag, platform).await?;
            Ok::<_, RegistryError>((tag, info))
        })
        .buffer_unordered(INFO_CONCURRENCY)
        .try_collect()
        .await?;
    let mut infos = HashMap::new();
    let mut excluded = HashSet::new();
    for (tag, info) in fetched {
        match info {
            Some(info) => {
                infos.insert(tag, info);
            }
            None => {
                excluded.insert(tag);
            }
        }
    }
    Ok((infos, excluded))
}

/// Reports count every tag the registry listed, including those set aside for their platform.
fn with_seen(mut no_match: NoMatch, seen: usize) -> NoMatch {
    no_match.report = FilterReport {
        seen,
        ..no_match.report
    };
    no_match
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::{Duration, UNIX_EPOCH};

    use kedge_policy::{PolicySpec, StrategySpec};

    use super::*;

    /// An in-memory registry: tag → (digest, created day, has arm64).
    struct Memory {
        tags: Vec<(&'static str, u64, bool)>,
        digest_calls: Mutex<Vec<String>>,
    }

    impl Registry for Memory {
        async fn list_tags(&self, _: &ImageName) -> Result<Vec<String>, RegistryError> {
            Ok(self.tags.iter().map(|t| t.0.to_owned()).collect())
        }

        async fn manifest_digest(&self, _: &ImageName, tag: &str) -> Result<String, RegistryError> {
            self.digest_calls.lock().unwrap().push(tag.to_owned());
            Ok(format!("sha256:{tag}"))
        }

        async fn image_info(
            &self,
            _: &ImageName,
            tag: &str,
            platform: Option<&Platform>,
        ) -> Result<Option<ImageInfo>, RegistryError> {
            let (_, day, arm64) = *self.tags.iter().find(|t| t.0 == tag).unwrap();
            if platform.is_some_and(|p| p.architecture == "arm64") && !arm64 {
                return Ok(None);
            }
            Ok(Some(ImageInfo {
                digest: format!("sha256:{tag}"),
                platform_digest: platform.map(|p| format!("sha256:{tag}-{}", p.architecture)),
                created: Some(UNIX_EPOCH + Duration::from_secs(day * 86_400)),
            }))
        }
    }

    fn memory() -> Memory {
        Memory {
            tags: vec![
                ("1.0.0", 10, true),
                ("1.1.0", 30, true),
                ("1.2.0", 20, false),
            ],
            digest_calls: Mutex::new(Vec::new()),
        }
    }

    fn policy(strategy: StrategySpec) -> TagPolicy {
        TagPolicy::new(PolicySpec::new(strategy)).unwrap()
    }

    fn semver(constraint: &str) -> TagPolicy {
        policy(StrategySpec::Semver {
            constraint: constraint.into(),
            prereleases: false,
            loose: false,
        })
    }

    fn arm64() -> DiscoverOptions {
        DiscoverOptions {
            platform: Some("linux/arm64".parse().unwrap()),
            now: None,
        }
    }

    fn image() -> ImageName {
        "registry.example/app".parse().unwrap()
    }

    #[tokio::test]
    async fn semver_without_platform_resolves_only_the_chosen_digest() {
        let registry = memory();
        let found = discover(
            &registry,
            &image(),
            &semver("^1"),
            &DiscoverOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(
            (found.tag.as_str(), found.digest.as_str()),
            ("1.2.0", "sha256:1.2.0")
        );
        assert_eq!((found.seen, found.candidates), (3, 3));
        assert_eq!(*registry.digest_calls.lock().unwrap(), ["1.2.0"]);
    }

    #[tokio::test]
    async fn platform_moves_on_to_the_next_best_tag() {
        let found = discover(&memory(), &image(), &semver("^1"), &arm64())
            .await
            .unwrap();
        assert_eq!(found.tag, "1.1.0");
        assert_eq!(found.platform_digest.as_deref(), Some("sha256:1.1.0-arm64"));
    }

    #[tokio::test]
    async fn newest_build_ranks_by_created_among_tags_with_the_platform() {
        let registry = memory();
        let newest = policy(StrategySpec::NewestBuild);
        let found = discover(&registry, &image(), &newest, &DiscoverOptions::default())
            .await
            .unwrap();
        assert_eq!(found.tag, "1.1.0", "day 30 is the newest build");
        assert!(
            registry.digest_calls.lock().unwrap().is_empty(),
            "digest came with the build info"
        );
    }

    /// Lists at once, then never answers a build-time lookup (a registry slowing to a crawl).
    struct Stalling;

    impl Registry for Stalling {
        async fn list_tags(&self, _: &ImageName) -> Result<Vec<String>, RegistryError> {
            Ok(vec!["1.0.0".into(), "2.0.0".into()])
        }

        async fn manifest_digest(&self, _: &ImageName, _: &str) -> Result<String, RegistryError> {
            std::future::pending().await
        }

        async fn image_info(
            &self,
            _: &ImageName,
            _: &str,
            _: Option<&Platform>,
        ) -> Result<Option<ImageInfo>, RegistryError> {
            std::future::pending().await
        }

        fn discovery_deadline(&self, _: &ImageName) -> Option<Duration> {
            Some(Duration::from_millis(50))
        }
    }

    /// Issue 11: one deadline per discovery, lookups after the listing included.
    #[tokio::test]
    async fn a_stalling_registry_ends_at_the_discovery_deadline() {
        let newest = policy(StrategySpec::NewestBuild);
        let err = discover(&Stalling, &image(), &newest, &DiscoverOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, DiscoverError::Registry(RegistryError::Deadline { .. })),
            "{err:?}"
        );
        assert!(err.to_string().contains("deadline"), "{err}");
    }

    #[tokio::test]
    async fn no_match_counts_tags_removed_for_their_platform() {
        let err = discover(&memory(), &image(), &semver(">=1.2"), &arm64())
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("saw 3 tags"), "{message}");
        assert!(
            message.contains("platform linux/arm64 removed 1"),
            "{message}"
        );
    }
}
