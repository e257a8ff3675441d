//! Helpers shared by the integration tests: where the fixtures are, and listing them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The shared fixtures directory (`KEDGE_FIXTURES` overrides the default).
pub use kedge_testkit::fixtures_dir as fixtures;

/// Every file under `dir`, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Corpus files under `fixtures/manifests`.
pub fn corpus() -> Vec<PathBuf> {
    files_under(&fixtures().join("manifests"))
}

/// Reads one YAML scalar token (as written, with quotes) back into its string value. A plain
/// single-line token is its own value (`null`, `1.10` included: the rewriter works on text).
pub fn read_scalar(token: &str) -> String {
    if !token.starts_with(['"', '\'']) && !token.contains('\n') {
        assert!(
            serde_saphyr::from_str::<serde_json::Value>(token).is_ok(),
            "`{token}` does not parse"
        );
        return token.to_owned();
    }
    serde_saphyr::from_str::<String>(token)
        .unwrap_or_else(|e| panic!("`{token}` is not a scalar: {e}"))
}

/// Rewrites `name` in `bytes` to `target` and proves that only value bytes changed: the text
/// between changes is identical, every replaced token reads as the old value and its
/// replacement as the new one, and added or removed text is one whole `key: value` line of an
/// image entry. Returns the number of changes.
pub fn assert_only_values_change(path: &Path, bytes: &[u8], name: &str, target: &str) -> usize {
    use kedge_rewrite::{Options, Site, Update, find_images, normalise_name, rewrite};
    let update = Update::image(name, target).unwrap();
    let out = match rewrite(path, bytes, std::slice::from_ref(&update)) {
        Ok(out) => out,
        // A digest without a tag for a Helm block without a digest key is refused on purpose
        // (issue 10): nothing can be written that the chart would render.
        Err(e) if e.to_string().contains("has no `digest` key") && update_removes_tag(&update) => {
            return 0;
        }
        Err(e) => panic!("{}: {name}={target}: {e}", path.display()),
    };
    let input = std::str::from_utf8(bytes).unwrap();
    let output = std::str::from_utf8(&out.bytes).unwrap();
    let (mut i, mut o) = (0, 0);
    for change in &out.changes {
        assert_eq!(
            input[i..change.span.start],
            output[o..change.new_span.start],
            "{}: bytes between values differ",
            path.display()
        );
        match (change.old.as_deref(), change.new.as_deref()) {
            (Some(old), Some(new)) => {
                assert_eq!(read_scalar(&input[change.span.clone()]), old);
                assert_eq!(read_scalar(&output[change.new_span.clone()]), new);
            }
            (None, Some(new)) => {
                assert!(matches!(change.site, Site::Kustomize | Site::HelmBlock));
                let line = output[change.new_span.clone()].trim();
                let (_, value) = line.split_once(": ").expect("a `key: value` line");
                let value = read_scalar(value);
                assert!(new.contains(value.as_str()), "{line} vs {new}");
            }
            (Some(old), None) => {
                assert_eq!(change.site, Site::Kustomize);
                let line = input[change.span.clone()].trim();
                let (_, value) = line.split_once(": ").expect("a `key: value` line");
                let value = value.split(" #").next().unwrap_or(value); // its line comment goes too
                assert_eq!(read_scalar(value), old);
            }
            (None, None) => unreachable!(),
        }
        i = change.span.end;
        o = change.new_span.end;
    }
    assert_eq!(input[i..], output[o..], "{}: tail differs", path.display());
    // The output still parses and no longer holds the old name unless the name was kept.
    let after = find_images(path, &out.bytes, &Options::default()).unwrap();
    if !target.starts_with('*')
        && normalise_name(name) != normalise_name(target.split([':', '@']).next().unwrap_or(""))
    {
        let old = normalise_name(name);
        assert!(
            after
                .iter()
                .all(|f| f.name != old || f.site == Site::Kustomize),
            "{}: {name} still present",
            path.display()
        );
    }
    out.changes.len()
}

/// Whether an image update sets no tag (`NAME@DIGEST`).
fn update_removes_tag(update: &kedge_rewrite::Update) -> bool {
    matches!(update, kedge_rewrite::Update::Image { target, .. } if target.tag == kedge_rewrite::Part::Set(None))
}
