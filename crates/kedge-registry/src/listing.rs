//! Listing a repository's tags: `Link` pagination with loop detection, one
//! deadline for the whole listing, a cap on tags read (enforced while parsing,
//! so a hostile page cannot allocate past it), and tags checked against the OCI
//! rules, invalid ones dropped and counted.

use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::client::{invalid, success_body};
use crate::transport::{Follow, Host, same_origin};
use crate::{ImageName, RegistryClient, RegistryError};

/// Page size asked of registries; they may answer with fewer.
const PAGE_SIZE: usize = 1000;
/// A registry that keeps sending `Link` headers past this many pages is looping.
const MAX_PAGES: usize = 10_000;

/// What a listing has read so far; kept outside the deadline so its error can say how far it got.
#[derive(Default)]
struct Listing {
    tags: Vec<String>,
    pages: usize,
}

impl RegistryClient {
    /// Every valid tag of `image`, in the order the registry gave them, following
    /// `Link` pagination. Tags that break the OCI tag rules are dropped, with a
    /// warning saying how many.
    pub async fn list_tags(&self, image: &ImageName) -> Result<Vec<String>, RegistryError> {
        let host = self.host(image).await?;
        let repository = image.repository();
        let deadline = host.settings.discovery_deadline;
        let mut listing = Listing::default();
        let read = read_pages(&host, repository, &mut listing);
        match tokio::time::timeout(deadline, read).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(RegistryError::Deadline {
                    registry: host.name.clone(),
                    repository: repository.to_owned(),
                    deadline,
                    pages: Some(listing.pages),
                });
            }
        }
        Ok(keep_valid(listing.tags, &host.name, repository))
    }
}

async fn read_pages(
    host: &Host,
    repository: &str,
    listing: &mut Listing,
) -> Result<(), RegistryError> {
    let mut url = host.url(&format!("/v2/{repository}/tags/list?n={PAGE_SIZE}"));
    let mut visited = HashSet::new();
    loop {
        let response = host
            .send(
                Method::GET,
                &url,
                &HeaderMap::new(),
                repository,
                Follow::SameOrigin,
            )
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(RegistryError::NotFound {
                registry: host.name.clone(),
                what: format!("repository {repository}"),
            });
        }
        let next = next_link(response.headers(), &url);
        let body = success_body(response, host, repository, &url).await?;
        let room = host.settings.max_tags - listing.tags.len();
        let overflow = Cell::new(false);
        let seed = Page {
            room,
            overflow: &overflow,
        };
        let page = seed
            .deserialize(&mut serde_json::Deserializer::from_slice(&body))
            .map_err(|e| match overflow.get() {
                true => RegistryError::TooManyTags {
                    registry: host.name.clone(),
                    repository: repository.to_owned(),
                    limit: host.settings.max_tags,
                },
                false => invalid(host, repository, &url, e),
            })?;
        listing.tags.extend(page);
        listing.pages += 1;
        visited.insert(url.clone());
        let Some(next) = next.filter(|next| *next != url) else {
            return Ok(());
        };
        check_next(host, repository, &url, &next, &visited, listing.pages)?;
        url = next;
    }
}

/// Refuses a next page on another origin (the registry's credentials go with
/// every page), one already read (a cycle), or one past [`MAX_PAGES`].
fn check_next(
    host: &Host,
    repository: &str,
    url: &str,
    next: &str,
    visited: &HashSet<String>,
    pages: usize,
) -> Result<(), RegistryError> {
    let invalid_response = |reason: String| RegistryError::InvalidResponse {
        registry: host.name.clone(),
        repository: repository.to_owned(),
        url: kedge_policy::redact_url(next),
        reason,
    };
    if !same_origin(url, next) {
        return Err(invalid_response("pagination link to another origin".into()));
    }
    if visited.contains(next) {
        return Err(RegistryError::PaginationLoop {
            registry: host.name.clone(),
            repository: repository.to_owned(),
            url: kedge_policy::redact_url(next),
            pages,
        });
    }
    if pages >= MAX_PAGES {
        return Err(invalid_response(format!(
            "tag list still paginating after {MAX_PAGES} pages"
        )));
    }
    Ok(())
}

/// The tags that follow the OCI rules; the others are counted in a warning.
fn keep_valid(tags: Vec<String>, registry: &str, repository: &str) -> Vec<String> {
    let total = tags.len();
    let mut first_invalid = None;
    let valid: Vec<String> = tags
        .into_iter()
        .filter(|tag| {
            let ok = kedge_image::validate_tag(tag).is_ok();
            if !ok && first_invalid.is_none() {
                first_invalid = Some(kedge_policy::escape_control(tag).into_owned());
            }
            ok
        })
        .collect();
    let ignored = total - valid.len();
    if let Some(example) = first_invalid {
        tracing::warn!(
            registry,
            repository,
            ignored,
            example = %example.chars().take(80).collect::<String>(),
            "ignored {ignored} of {total} listed tags that break the OCI tag rules"
        );
    }
    valid
}

/// One tag-list page (`{"name": …, "tags": [...]}`), keeping at most `room` tags;
/// sets `overflow` and fails as soon as the page holds more.
struct Page<'a> {
    room: usize,
    overflow: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Page<'_> {
    type Value = Vec<String>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Page<'_> {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tag list object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut tags = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "tags" {
                tags = map.next_value_seed(Tags {
                    room: self.room,
                    overflow: self.overflow,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(tags)
    }
}

/// The `tags` array (or `null`), at most `room` long.
struct Tags<'a> {
    room: usize,
    overflow: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Tags<'_> {
    type Value = Vec<String>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Tags<'_> {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of tags or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut tags =
            Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.room).min(PAGE_SIZE));
        while let Some(tag) = seq.next_element::<String>()? {
            if tags.len() == self.room {
                self.overflow.set(true);
                return Err(de::Error::custom("more tags than allowed"));
            }
            tags.push(tag);
        }
        Ok(tags)
    }
}

/// The `rel="next"` target of a `Link` header, resolved against the current URL.
fn next_link(headers: &HeaderMap, current: &str) -> Option<String> {
    let target = kedge_http::next_link(headers)?;
    let base = reqwest::Url::parse(current).ok()?;
    base.join(&target).ok().map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str, room: usize) -> (Result<Vec<String>, serde_json::Error>, bool) {
        let overflow = Cell::new(false);
        let page = Page {
            room,
            overflow: &overflow,
        }
        .deserialize(&mut serde_json::Deserializer::from_str(body));
        (page, overflow.get())
    }

    #[test]
    fn pages_parse_with_null_missing_and_capped_tags() {
        let (page, _) = parse(r#"{"name":"a","tags":["1","2"],"x":{"y":[1]}}"#, 5);
        assert_eq!(page.unwrap(), ["1", "2"]);
        assert!(
            parse(r#"{"name":"a","tags":null}"#, 5)
                .0
                .unwrap()
                .is_empty()
        );
        assert!(parse(r#"{"name":"a"}"#, 5).0.unwrap().is_empty());
        let (page, overflow) = parse(r#"{"tags":["1","2","3"]}"#, 2);
        assert!(page.is_err() && overflow);
        let (page, overflow) = parse(r#"{"tags":"nope"}"#, 2);
        assert!(page.is_err() && !overflow);
    }

    #[test]
    fn invalid_tags_are_dropped() {
        let tags = ["1.0", "bad\n", "\x1b[2J", "v2"].map(String::from).to_vec();
        assert_eq!(keep_valid(tags, "r", "a"), ["1.0", "v2"]);
    }

    #[test]
    fn link_header_relative_and_absolute() {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::LINK,
            r#"</v2/team/app/tags/list?last=b&n=2>; rel="next""#
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&headers, "http://127.0.0.1:5000/v2/team/app/tags/list?n=2").as_deref(),
            Some("http://127.0.0.1:5000/v2/team/app/tags/list?last=b&n=2")
        );
        headers.insert(
            reqwest::header::LINK,
            r#"<https://other.example/page2>; rel=next, <https://x/prev>; rel="prev""#
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&headers, "https://ghcr.io/v2/a/tags/list").as_deref(),
            Some("https://other.example/page2")
        );
        assert_eq!(next_link(&HeaderMap::new(), "https://x/"), None);
    }
}
