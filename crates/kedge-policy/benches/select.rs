//! Selection benchmarks over deterministic, realistic tag lists.
//!
//! Run with `cargo bench -p kedge-policy`. Each benchmark times a full
//! `select_from` (filter + select) over a freshly borrowed tag list; building
//! the policy (regex compilation) happens once, outside the timed loop, as it
//! does in kedge.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use divan::Bencher;
use kedge_policy::{Order, PolicySpec, StrategySpec, TagPolicy};

fn main() {
    divan::main();
}

const SIZES: [usize; 2] = [1_000, 10_000];

/// A repository's worth of tags: releases with and without `v`, alpine
/// variants, release candidates, commit tags, dated branch builds and a few
/// `latest`, mixed in a fixed pseudo-random order.
fn tags(count: usize) -> Vec<String> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    (0..count)
        .map(|i| {
            let r = next();
            let (major, minor, patch) = (r % 4, (r >> 2) % 12, (r >> 6) % 20);
            let version = format!("{major}.{minor}.{patch}");
            match i % 10 {
                0..=2 => version,
                3 => format!("v{version}"),
                4 => format!("{version}-alpine"),
                5 => format!("{version}-rc.{}", (r >> 11) % 5),
                6 | 7 => format!("sha-{:07x}", (r >> 3) & 0xFFF_FFFF),
                8 => format!(
                    "main-2024{:02}{:02}.{}",
                    (r >> 2) % 12 + 1,
                    (r >> 6) % 28 + 1,
                    (r >> 11) % 9 + 1
                ),
                _ if i % 1000 == 9 => "latest".to_owned(),
                _ => format!("{version}-debug"),
            }
        })
        .collect()
}

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

fn bench_policy(bencher: Bencher, count: usize, spec: PolicySpec) {
    let tags = tags(count);
    let policy = TagPolicy::new(spec).expect("benchmark policy is valid");
    let chosen = policy.select_from(tags.iter().map(String::as_str), &|_| None, now());
    assert!(chosen.is_ok(), "benchmark policy selects a tag: {chosen:?}");
    bencher.bench_local(|| {
        let tags = divan::black_box(&tags);
        policy
            .select_from(tags.iter().map(String::as_str), &|_| None, now())
            .map(|selected| selected.tag.len())
    });
}

/// semver `^1.2` with an ignore regex.
#[divan::bench(args = SIZES)]
fn semver_caret_with_ignore(bencher: Bencher, count: usize) {
    let spec = PolicySpec {
        ignore: vec![r"^v?1\.3\.".to_owned()],
        ..PolicySpec::new(StrategySpec::Semver {
            constraint: "^1.2".to_owned(),
            prereleases: false,
            loose: false,
        })
    };
    bench_policy(bencher, count, spec);
}

/// semver `>=1.2.0 <3` including pre-releases, variants kept out by an allow regex.
#[divan::bench(args = SIZES)]
fn semver_range_prereleases_allow(bencher: Bencher, count: usize) {
    let spec = PolicySpec {
        allow: Some(r"^v?[0-9.]+(-rc\.[0-9]+)?$".to_owned()),
        ..PolicySpec::new(StrategySpec::Semver {
            constraint: ">=1.2.0 <3".to_owned(),
            prereleases: true,
            loose: false,
        })
    };
    bench_policy(bencher, count, spec);
}

/// numerical over `main-YYYYMMDD.N` tags, ranking `$date` (borrowed from the tag).
#[divan::bench(args = SIZES)]
fn numerical_extract_one_group(bencher: Bencher, count: usize) {
    let spec = PolicySpec {
        pattern: Some(r"^main-(?P<date>\d{8})\.(?P<build>\d)$".to_owned()),
        extract: Some("$date".to_owned()),
        ..PolicySpec::new(StrategySpec::Numerical { order: Order::Asc })
    };
    bench_policy(bencher, count, spec);
}

/// numerical over `main-YYYYMMDD.N` tags, ranking `$date$build` (a new string per tag).
#[divan::bench(args = SIZES)]
fn numerical_extract_two_groups(bencher: Bencher, count: usize) {
    let spec = PolicySpec {
        pattern: Some(r"^main-(?P<date>\d{8})\.(?P<build>\d)$".to_owned()),
        extract: Some("$date$build".to_owned()),
        ..PolicySpec::new(StrategySpec::Numerical { order: Order::Asc })
    };
    bench_policy(bencher, count, spec);
}

/// alphabetical over every tag (no filter), the cheapest ranking.
#[divan::bench(args = SIZES)]
fn alphabetical_all(bencher: Bencher, count: usize) {
    bench_policy(
        bencher,
        count,
        PolicySpec::new(StrategySpec::Alphabetical { order: Order::Asc }),
    );
}
