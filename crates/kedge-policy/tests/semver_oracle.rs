//! Differential test of the semver strategy against the `semver` crate.
//!
//! kedge parses tags and constraints itself (Masterminds syntax, no
//! allocation), so this test checks it against an independent implementation
//! on thousands of generated tags, for the constraint forms whose meaning is
//! the same in Masterminds and Cargo (`^`, `~`, comparisons with a comma,
//! wildcards, `*`): the tags kept must be exactly those the `semver` crate
//! accepts, and the tag selected must have the highest precedence (ties to the
//! byte-wise greater tag).

use std::cmp::Ordering;
use std::time::UNIX_EPOCH;

use kedge_policy::{PolicySpec, StrategySpec, TagPolicy};

/// Deterministic tags: full and partial versions, `v` prefixes,
/// pre-releases, build metadata, and tags that are not versions.
fn generated_tags(count: usize) -> Vec<String> {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move |bound: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % bound
    };
    let pre = [
        "alpha", "alpha.1", "beta.2", "beta.11", "rc.1", "rc.0.3", "alpine", "01", "x-y",
    ];
    (0..count)
        .map(|_| {
            let (major, minor, patch) = (next(4), next(12), next(15));
            let prefix = if next(4) == 0 { "v" } else { "" };
            let mut tag = match next(10) {
                0 => format!("{prefix}{major}.{minor}"),
                1 => format!("{prefix}{major}"),
                2 => format!("{major}.{minor}.{patch}.{}", next(3)),
                _ => format!("{prefix}{major}.{minor}.{patch}"),
            };
            if next(3) == 0 {
                tag.push('-');
                tag.push_str(pre[next(pre.len() as u64) as usize]);
            }
            if next(8) == 0 {
                tag.push_str("+build.7");
            }
            if next(20) == 0 {
                tag = "latest".to_owned();
            }
            tag
        })
        .collect()
}

/// The `semver` crate's reading of a tag, with kedge's loose rules applied
/// first: one leading `v` dropped, a missing patch is 0.
fn oracle_version(tag: &str) -> Option<semver::Version> {
    let body = tag.strip_prefix('v').unwrap_or(tag);
    let split = body.find(['-', '+']).unwrap_or(body.len());
    let (core, suffix) = body.split_at(split);
    let core = match core.split('.').count() {
        2 => format!("{core}.0"),
        _ => core.to_owned(),
    };
    semver::Version::parse(&format!("{core}{suffix}")).ok()
}

fn policy(constraint: &str, prereleases: bool) -> TagPolicy {
    TagPolicy::new(PolicySpec::new(StrategySpec::Semver {
        constraint: constraint.to_owned(),
        prereleases,
        loose: false,
    }))
    .unwrap_or_else(|e| panic!("{constraint}: {e}"))
}

/// The tag the oracle would select among `kept`.
fn oracle_best<'t>(kept: &[&'t str]) -> Option<&'t str> {
    kept.iter().copied().max_by(|a, b| {
        let (x, y) = (oracle_version(a), oracle_version(b));
        let by_version = match (x, y) {
            (Some(x), Some(y)) => x.cmp_precedence(&y),
            _ => Ordering::Equal,
        };
        by_version.then_with(|| a.cmp(b))
    })
}

fn check(constraint: &str, prereleases: bool, accepts: impl Fn(&semver::Version) -> bool) {
    let tags = generated_tags(5_000);
    let policy = policy(constraint, prereleases);
    let filtered = policy.filter(tags.iter().map(String::as_str));
    let kept: Vec<&str> = filtered.candidates().collect();
    let expected: Vec<&str> = tags
        .iter()
        .map(String::as_str)
        .filter(|tag| oracle_version(tag).is_some_and(|v| accepts(&v)))
        .collect();
    assert_eq!(kept, expected, "kept tags differ for {constraint}");
    assert!(
        !kept.is_empty(),
        "{constraint} should keep some generated tags"
    );
    println!("{constraint}: kept {} of {}", kept.len(), tags.len());
    let selected = policy.select(&filtered, &|_| None, UNIX_EPOCH).ok();
    assert_eq!(
        selected.map(|s| s.tag),
        oracle_best(&kept),
        "selection differs for {constraint}"
    );
}

#[test]
fn tag_parsing_and_ranking_match_the_semver_crate() {
    check("*", true, |_| true);
}

#[test]
fn release_ranges_match_the_semver_crate() {
    let shared_syntax = [
        "*",
        "^1.2",
        "^0.3",
        "^0.0.4",
        "~1.2.3",
        "~2",
        ">=1.0, <2.0",
        ">1.2, <=2.3",
        "=1.4.7",
        "1.2.*",
        "2.x",
        ">=0.5.3",
    ];
    for constraint in shared_syntax {
        let request = semver::VersionReq::parse(constraint).expect("shared syntax parses");
        check(constraint, false, |version| request.matches(version));
    }
}
