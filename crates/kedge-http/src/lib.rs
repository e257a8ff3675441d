//! What kedge's registry client and GitHub client share about HTTP, so that
//! each idea has one owner: the retry policy ([`RetryPolicy`]: how many
//! resends, how long between them, what to do with a server's wait), and the
//! headers both read, parsed once: the `Link` header's next page (RFC 8288,
//! as the OCI distribution API and GitHub's REST API paginate) and
//! `Retry-After` (RFC 9110: delay seconds or an HTTP date).
//!
//! No IO: the header parsers are pure functions over [`http::HeaderMap`],
//! and the policy says how long to wait without sleeping. What a caller does
//! with an answer (resolve a relative target, refuse another host, sleep,
//! hold back other requests) is the caller's.

mod retry;

pub use retry::{GiveUp, Jitter, LongServerWait, Retries, RetryPolicy};

use std::time::Duration;

use http::HeaderMap;
use http::header::{LINK, RETRY_AFTER};

/// The target of the `Link` with relation `next`, as written (absolute or
/// relative to the request's URL), from every `Link` header of `headers`.
///
/// Relations are compared without case and may be quoted or a
/// space-separated list (`rel="next last"`); spaces around `;` and `=` are
/// allowed. `None` when no link is `next` or the header is not text.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(split_links)
        .find_map(|(target, params)| is_next(params).then(|| target.to_owned()))
}

/// Splits a `Link` value into `(target, parameters)` pairs. A comma inside
/// `<...>` belongs to the target.
fn split_links(value: &str) -> Vec<(&str, &str)> {
    let mut links = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>').map(|at| open + at) else {
            break;
        };
        let target = rest[open + 1..close].trim();
        let after = &rest[close + 1..];
        let params_end = after.find(",").map_or(after.len(), |comma| {
            // A comma ends this link only where the next one starts.
            after[comma..]
                .find('<')
                .map_or(after.len(), |next| comma + next)
        });
        links.push((target, &after[..params_end]));
        rest = &after[params_end..];
    }
    links
}

/// Whether a link's parameters (`; rel="next"; title=…`) give it the
/// relation `next`.
fn is_next(params: &str) -> bool {
    params.split(';').any(|param| {
        let Some((name, value)) = param.split_once('=') else {
            return false;
        };
        let value = value.trim().trim_matches(|c| c == '"' || c == ',');
        name.trim().eq_ignore_ascii_case("rel")
            && value
                .split_ascii_whitespace()
                .any(|relation| relation.eq_ignore_ascii_case("next"))
    })
}

/// How long `Retry-After` asks to wait, counted from `now`: delay seconds,
/// or an HTTP date (a date already past is no wait). `None` when there is
/// no such header or it says neither.
pub fn retry_after(headers: &HeaderMap, now: jiff::Timestamp) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = jiff::fmt::rfc2822::parse(value).ok()?;
    let wait = date.timestamp().duration_since(now);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(name: http::HeaderName, values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(name.clone(), HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn the_next_link_is_found_as_registries_and_github_write_it() {
        let cases: &[(&[&'static str], Option<&str>)] = &[
            // GitHub: absolute, several relations in one header.
            (
                &[
                    "<https://api.github.com/repositories/1/pulls?page=3>; rel=\"next\", <https://api.github.com/repositories/1/pulls?page=5>; rel=\"last\"",
                ],
                Some("https://api.github.com/repositories/1/pulls?page=3"),
            ),
            // The distribution registry: relative, unquoted.
            (
                &["</v2/team/app/tags/list?last=b&n=2>; rel=next"],
                Some("/v2/team/app/tags/list?last=b&n=2"),
            ),
            // Spaces, case, a relation list, other parameters first.
            (
                &["<https://x/?p=2> ; title=\"two\" ; REL = \"prev next\""],
                Some("https://x/?p=2"),
            ),
            // A comma inside the target.
            (
                &["<https://x/?tags=a,b>; rel=\"next\""],
                Some("https://x/?tags=a,b"),
            ),
            // The next link in a second header.
            (
                &[
                    "<https://x/?p=1>; rel=\"prev\"",
                    "<https://x/?p=3>; rel=\"next\"",
                ],
                Some("https://x/?p=3"),
            ),
            (&["<https://x/?p=1>; rel=\"prev\""], None),
            (&["<https://x/?p=1>; rel=\"nextish\""], None),
            (&["https://x/?p=1; rel=\"next\""], None),
            (&["<https://x/?p=1"], None),
            (&[], None),
        ];
        for (values, expected) in cases {
            assert_eq!(
                next_link(&headers(LINK, values)).as_deref(),
                *expected,
                "{values:?}"
            );
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now: jiff::Timestamp = "2026-12-06T10:00:00Z".parse().expect("a timestamp");
        let cases: &[(&'static str, Option<Duration>)] = &[
            ("120", Some(Duration::from_secs(120))),
            (" 0 ", Some(Duration::ZERO)),
            (
                "Sun, 06 Dec 2026 10:00:30 GMT",
                Some(Duration::from_secs(30)),
            ),
            ("Sun, 06 Dec 2026 09:00:00 GMT", Some(Duration::ZERO)),
            ("-5", None),
            ("soon", None),
        ];
        for (value, expected) in cases {
            assert_eq!(
                retry_after(&headers(RETRY_AFTER, &[value]), now),
                *expected,
                "{value:?}"
            );
        }
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }
}
