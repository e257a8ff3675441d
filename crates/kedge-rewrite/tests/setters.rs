//! Flux's setter fixtures (`fixtures/setters/fluxcd__image-automation-controller`): marked values
//! follow their policy and the files come out byte-identical to Flux's expected output, except
//! where kyaml itself reformatted (said per case, and the values asserted instead).

mod common;

use std::path::{Path, PathBuf};

use kedge_rewrite::{Options, Update, find_images, rewrite};

fn flux() -> PathBuf {
    common::fixtures().join("setters/fluxcd__image-automation-controller")
}

fn cases() -> serde_json::Value {
    let text = std::fs::read_to_string(flux().join("CASES.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn case<'a>(cases: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}

fn setter_updates(case: &serde_json::Value) -> Vec<Update> {
    case["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let policy = format!(
                "{}:{}",
                p["namespace"].as_str().unwrap(),
                p["name"].as_str().unwrap()
            );
            Update::setter(&policy, p["latestRef"].as_str().unwrap()).unwrap()
        })
        .collect()
}

fn substitute(text: &str, case: &serde_json::Value) -> String {
    match case["placeholder"]["token"].as_str() {
        Some(token) => text.replace(token, case["placeholder"]["with"].as_str().unwrap()),
        None => text.to_owned(),
    }
}

#[test]
fn update_with_setters_matches_flux_output_byte_for_byte() {
    let cases = cases();
    let case = case(&cases, "TestUpdateWithSetters");
    let updates = setter_updates(case);
    let input = flux().join(case["input_dir"].as_str().unwrap());
    let expected = flux().join(case["expected_dir"].as_str().unwrap());
    let mut changed = Vec::new();
    for file in common::files_under(&input) {
        let name = file.file_name().unwrap().to_str().unwrap().to_owned();
        let bytes = std::fs::read(&file).unwrap();
        let out = rewrite(&file, &bytes, &updates).unwrap();
        let expected_file = expected.join(&name);
        if expected_file.exists() {
            assert_eq!(
                String::from_utf8(out.bytes).unwrap(),
                std::fs::read_to_string(&expected_file).unwrap(),
                "{name}"
            );
            // The change list matches Flux's (old, new, setter) triples.
            let want = case["expected_changes"][&name].as_array().unwrap();
            assert_eq!(out.changes.len(), want.len(), "{name}");
            for (got, want) in out.changes.iter().zip(want) {
                assert_eq!(got.old.as_deref(), want["old"].as_str());
                assert_eq!(got.new.as_deref(), want["new"].as_str());
                let setter = want["setter"].as_str().unwrap();
                assert!(setter.starts_with(&*got.image), "{setter} vs {}", got.image);
            }
            changed.push(name);
        } else {
            // unmarked.yaml, otherns.yaml and test.yaml produce no output in Flux: unchanged.
            assert!(out.changes.is_empty(), "{name} changed");
            assert_eq!(out.bytes, bytes);
        }
    }
    changed.sort();
    assert_eq!(
        changed,
        ["Kustomization", "kustomization.yml", "marked.yaml"]
    );
}

fn check_applier_case(name: &str) {
    let cases = cases();
    let case = case(&cases, name);
    let updates = setter_updates(case);
    let input = flux().join(case["input_dir"].as_str().unwrap());
    let expected = flux().join(case["expected_dir"].as_str().unwrap());
    let update_path = case["update_path"]
        .as_str()
        .map(|p| p.trim_start_matches("./"));
    for file in common::files_under(&input) {
        let rel = file.strip_prefix(&input).unwrap();
        let text = substitute(&std::fs::read_to_string(&file).unwrap(), case);
        let want = substitute(&std::fs::read_to_string(expected.join(rel)).unwrap(), case);
        let in_scope = update_path.is_none_or(|p| rel.starts_with(p));
        let got = if in_scope {
            String::from_utf8(rewrite(&file, text.as_bytes(), &updates).unwrap().bytes).unwrap()
        } else {
            text
        };
        assert_eq!(got, want, "{name}: {}", rel.display());
    }
}

#[test]
fn apply_policies_one_policy() {
    check_applier_case("Test_applyPolicies/valid update strategy and one policy");
}

#[test]
fn apply_policies_multiple_policies() {
    check_applier_case("Test_applyPolicies/valid update strategy and multiple policies");
}

#[test]
fn apply_policies_update_path() {
    check_applier_case("Test_applyPolicies/valid update strategy with update path");
}

/// Not applicable: `Test_applyPolicies/no update strategy` and `/unknown update strategy` test
/// validation of the ImageUpdateAutomation object (a controller concern, not a rewrite). They
/// are asserted here to be exactly those two, so a new case cannot slip by unnoticed.
#[test]
fn not_applicable_cases_are_listed() {
    let cases = cases();
    let errors: Vec<&str> = cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["expect_error"] == true)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        errors,
        [
            "Test_applyPolicies/no update strategy",
            "Test_applyPolicies/unknown update strategy"
        ]
    );
}

/// The HISTORICAL marker-less cases replace every image with a given name. Flux's expected
/// files also show kyaml re-indenting sequences (`- name` moved right by two), which a lossless
/// rewriter must not do: so the values are asserted, and everything else must equal the input.
fn check_historical(name: &str) {
    let cases = cases();
    let case = case(&cases, name);
    let image = case["image_name"].as_str().unwrap();
    let new_image = case["new_image"].as_str().unwrap();
    let updates = [Update::image(image, new_image).unwrap()];
    let input = flux().join(case["input_dir"].as_str().unwrap());
    let expected = flux().join(case["expected_dir"].as_str().unwrap());
    for file in common::files_under(&input) {
        let rel = file.strip_prefix(&input).unwrap();
        let bytes = std::fs::read(&file).unwrap();
        let out = rewrite(&file, &bytes, &updates).unwrap();
        let want = std::fs::read(expected.join(rel)).unwrap();
        let images = |p: &Path, b: &[u8]| -> Vec<String> {
            find_images(p, b, &Options::default())
                .unwrap()
                .into_iter()
                .map(|f| f.reference.to_string())
                .collect()
        };
        assert_eq!(
            images(&file, &out.bytes),
            images(&file, &want),
            "{name}: {}",
            rel.display()
        );
        // Only the image values differ from the input.
        let input = String::from_utf8(bytes).unwrap();
        let output = String::from_utf8(out.bytes).unwrap();
        let old_lines: Vec<&str> = input.lines().collect();
        let new_lines: Vec<&str> = output.lines().collect();
        assert_eq!(old_lines.len(), new_lines.len());
        for (a, b) in old_lines.iter().zip(&new_lines) {
            if a != b {
                let img = format!("{image}:");
                assert!(a.contains(&img) && b.contains(new_image), "{a} -> {b}");
                assert_eq!(
                    a.replace(a.split_whitespace().nth(1).unwrap(), new_image),
                    *b
                );
            }
        }
        // Comments, including the Korean ones, survive.
        assert_eq!(
            input.matches('#').count(),
            output.matches('#').count(),
            "{name}: comments lost"
        );
    }
}

#[test]
fn historical_leave_different_image_alone() {
    check_historical("UpdateImageEverywhere/leaves a different image alone (HISTORICAL)");
}

#[test]
fn historical_replace_given_image() {
    check_historical("UpdateImageEverywhere/replaces the given image (HISTORICAL)");
}

#[test]
fn historical_keep_comments() {
    check_historical("UpdateImageEverywhere/keeps comments intact (HISTORICAL)");
}
