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
pub async fn discover<R: Registry>(
    registry: &R,
    image: &ImageName,
    policy: &TagPolicy,
    options: &DiscoverOptions,
) -> Result<Discovery, DiscoverError> {
    let now = options.now.unwrap_or_else(SystemTime::now);
    let platform = options.platform.as_ref();
    let tags = registry.list_tags(image).await?;
    tracing::debug!(image = %image, tags = tags.len(), "listed tags");

    let mut excluded: HashSet<String> = HashSet::new();
    let mut infos: HashMap<String, ImageInfo> = HashMap::new();
    if policy.needs_build_time() {
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
    }

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

/// Reports count every tag the registry listed, including those set aside for their platform.
fn with_seen(mut no_match: NoMatch, seen: usize) -> NoMatch {
    no_match.report = FilterReport {
        seen,
        ..no_match.report
    };
    no_match
}
