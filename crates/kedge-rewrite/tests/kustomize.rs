//! Kustomize's `edit set image` table and image-transformer cases
//! (`fixtures/setters/kubernetes-sigs__kustomize`) give their expected values.
//!
//! kustomize re-serialises the whole file with sorted keys; kedge edits in place, so values are
//! compared structurally, and the bytes outside the image entries must equal the input.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kedge_rewrite::{ImageRef, Options, Update, rewrite_with};
use serde_json::Value;

fn kustomize() -> PathBuf {
    common::fixtures().join("setters/kubernetes-sigs__kustomize")
}

fn yaml_value(text: &str) -> Value {
    serde_saphyr::from_str::<Value>(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// `kustomize edit set image` argument → kedge update. `NAME=REF` maps directly; the short form
/// `NAME[:TAG][@DIGEST]` keeps the name (`NAME=*:TAG@DIGEST`).
fn update_from_arg(arg: &str) -> Result<Update, kedge_rewrite::RewriteError> {
    if arg.contains('=') {
        return Update::parse(arg);
    }
    let r = ImageRef::parse(arg)?;
    if r.tag.is_none() && r.digest.is_none() {
        return Update::parse(arg); // no `=` and nothing to set: invalid, as in kustomize
    }
    let mut target = "*".to_owned();
    if let Some(tag) = &r.tag {
        target.push_str(&format!(":{tag}"));
    }
    if let Some(digest) = &r.digest {
        target.push_str(&format!("@{digest}"));
    }
    Update::image(&r.name, &target)
}

/// The `images:` list as a set of string maps.
fn images(doc: &Value) -> Vec<BTreeMap<String, String>> {
    let mut list: Vec<BTreeMap<String, String>> = doc["images"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|entry| {
            entry
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .collect();
    list.sort();
    list
}

#[test]
fn edit_set_image_table() {
    let default =
        std::fs::read_to_string(kustomize().join("edit-set-image.default-kustomization.yaml"))
            .unwrap();
    let table = std::fs::read_to_string(kustomize().join("edit-set-image.jsonl")).unwrap();
    let options = Options {
        add_kustomize_entries: true,
        ..Options::default()
    };
    let mut ran = 0;
    let mut not_applicable = Vec::new();
    for line in table.lines() {
        let row: Value = serde_json::from_str(line).unwrap();
        let id = row["id"].as_str().unwrap();
        let args: Vec<&str> = row["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        if let Some(error) = row["expected_error"].as_str() {
            match error {
                // Every argument must be NAME=REF or NAME:TAG / NAME@DIGEST: kedge refuses too.
                "errImageInvalidArgs" => {
                    assert!(args.iter().any(|a| update_from_arg(a).is_err()), "{id}")
                }
                // "No arguments" is a command-line check: `kedge set-image` exits 2 (kedge-cli test).
                _ => not_applicable.push(id.to_owned()),
            }
            continue;
        }
        let input = row["input_kustomization"]
            .as_str()
            .map_or(default.clone(), str::to_owned);
        let updates: Vec<Update> = args.iter().map(|a| update_from_arg(a).unwrap()).collect();
        let out = rewrite_with(
            Path::new("kustomization.yaml"),
            input.as_bytes(),
            &updates,
            &options,
        )
        .unwrap_or_else(|e| panic!("{id}: {e}"));
        let output = String::from_utf8(out.bytes).unwrap();
        let expected = yaml_value(row["expected_contains"].as_str().unwrap());
        let got = yaml_value(&output);
        assert_eq!(images(&got), images(&expected), "{id}:\n{output}");
        // Everything but `images` is unchanged.
        let mut before = yaml_value(&input);
        let mut after = got.clone();
        before.as_object_mut().unwrap().remove("images");
        after.as_object_mut().unwrap().remove("images");
        assert_eq!(before, after, "{id}");
        // Exact text where kustomize's sorted key order equals kedge's (name, newName, newTag, digest).
        let text = row["expected_contains"].as_str().unwrap();
        if !text.contains("- digest:") {
            assert!(
                output.contains(text),
                "{id}: expected text\n{text}\nin\n{output}"
            );
        }
        ran += 1;
    }
    assert_eq!(ran, 23);
    assert_eq!(not_applicable, ["kustomize-edit-set-image-015"]);
}

fn filter_update(image: &Value) -> Option<Update> {
    let s = |k: &str| image[k].as_str().map(str::to_owned);
    if s("TagSuffix").is_some() {
        return None;
    }
    let mut target = s("NewName").unwrap_or_else(|| "*".to_owned());
    match (s("NewTag"), s("Digest")) {
        (None, None) => target.push_str(":*"),
        (tag, digest) => {
            if let Some(tag) = tag {
                target.push_str(&format!(":{tag}"));
            }
            if let Some(digest) = digest {
                target.push_str(&format!("@{digest}"));
            }
        }
    }
    Some(Update::image(&s("Name").unwrap(), &target).unwrap())
}

#[test]
fn image_transformer_cases() {
    let dir = kustomize().join("imagetag-filter");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    let mut not_applicable = Vec::new();
    let mut formatting_only = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_str().unwrap().to_owned();
        let meta: Value =
            serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).unwrap())
                .unwrap();
        let input = std::fs::read_to_string(case.join("input.yaml")).unwrap();
        let expected = std::fs::read_to_string(case.join("expected.yaml")).unwrap();
        let Some(update) = filter_update(&meta["image"]) else {
            // TagSuffix appends to whatever tag is there: a kustomize transformer feature, not a
            // "set this reference" update.
            not_applicable.push(name);
            continue;
        };
        // The case's field specs are the object paths kustomize was told to look at.
        let paths = meta["field_specs"].as_array().into_iter().flatten();
        let options = Options {
            object_image_paths: paths
                .filter_map(|spec| spec["Path"].as_str())
                .map(|path| path.replace("[]", "").replace('/', "."))
                .collect(),
            ..Options::default()
        };
        let out = rewrite_with(
            &case.join("input.yaml"),
            input.as_bytes(),
            &[update],
            &options,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let output = String::from_utf8(out.bytes).unwrap();
        if output == expected {
            continue;
        }
        if name == "filter-emptycontainers" {
            // kyaml writes `containers:` (null) back as `containers: []`; kedge leaves it alone.
            assert_eq!(output, input);
            formatting_only.push(name);
            continue;
        }
        // kyaml also adds a final newline and drops a trailing space (`spec: `): formatting.
        assert_eq!(
            yaml_value(&output),
            yaml_value(&expected),
            "{name}:\n{output}"
        );
        formatting_only.push(name);
    }
    assert_eq!(not_applicable, ["filter-updateimagesuffix"]);
    assert_eq!(
        formatting_only,
        [
            "filter-emptycontainers",
            "filter-new-tag",
            "legacy-updates-on-multiple-depths"
        ]
    );
}
