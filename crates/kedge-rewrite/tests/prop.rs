//! Property test: random edits on random corpus files never change a byte outside the edited
//! values.

mod common;

use std::sync::OnceLock;

use kedge_rewrite::{Found, Options, find_images};
use proptest::prelude::*;

/// A corpus file, its bytes and the images found in it.
type CorpusFile = (std::path::PathBuf, Vec<u8>, Vec<Found>);

/// Corpus files that parse and hold images.
fn corpus() -> &'static Vec<CorpusFile> {
    static CORPUS: OnceLock<Vec<CorpusFile>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        common::corpus()
            .into_iter()
            .filter_map(|path| {
                let bytes = std::fs::read(&path).ok()?;
                let found = find_images(&path, &bytes, &Options::default()).ok()?;
                (!found.is_empty()).then_some((path, bytes, found))
            })
            .collect()
    })
}

fn new_reference() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("*".to_owned()),
        "[a-z][a-z0-9]{0,8}(/[a-z0-9][a-z0-9._-]{0,10}){0,2}",
        "(localhost:5000|ghcr\\.io|registry\\.example\\.com:8443)/[a-z]{1,8}",
    ];
    let tag = prop_oneof![
        Just(String::new()),
        Just(":*".to_owned()),
        ":[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}".prop_map(|s| s),
        Just(":1.10".to_owned()),
        Just(":0755".to_owned()),
        Just(":true".to_owned()),
    ];
    let digest = prop_oneof![Just(String::new()), "@sha256:[0-9a-f]{64}",];
    (name, tag, digest).prop_map(|(n, t, d)| {
        // `*` alone is not a reference; `NAME:*@DIGEST` is not a form either.
        let t = if n == "*" && t.is_empty() && d.is_empty() {
            ":x".to_owned()
        } else {
            t
        };
        let t = if t == ":*" && !d.is_empty() {
            String::new()
        } else {
            t
        };
        format!("{n}{t}{d}")
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_edits_touch_only_values(file in any::<prop::sample::Index>(), image in any::<prop::sample::Index>(), target in new_reference()) {
        let corpus = corpus();
        let (path, bytes, found) = &corpus[file.index(corpus.len())];
        let name = &found[image.index(found.len())].name;
        common::assert_only_values_change(path, bytes, name, &target);
    }
}
