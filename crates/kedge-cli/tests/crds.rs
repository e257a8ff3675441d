//! `kedge crds`: the CRDs it prints are the ones checked in under
//! `deploy/crds/`, and its JSON is a List kubectl can apply.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const REGENERATE: &str = "regenerate them with `cargo run -p kedge-cli -- crds --output-dir deploy/crds > /dev/null` and commit the result";

fn kedge_crds(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_kedge"))
        .arg("crds")
        .args(args)
        .output()
        .expect("kedge runs");
    assert!(
        output.status.success(),
        "kedge crds {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn deploy_crds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("{}: {error}; {REGENERATE}", path.display()))
}

#[test]
fn the_checked_in_crds_are_what_kedge_crds_prints() {
    let printed = String::from_utf8(kedge_crds(&[]).stdout).expect("UTF-8 YAML");
    let dir = deploy_crds();
    let checked_in: String = ["applications.yaml", "imageupdates.yaml"]
        .iter()
        .map(|file| read(&dir.join(file)))
        .collect();
    assert!(
        printed == checked_in,
        "deploy/crds differs from `kedge crds` (the Rust types changed?): {REGENERATE}"
    );
}

#[test]
fn output_dir_writes_one_file_per_crd() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let dir_arg = dir.path().to_str().expect("a UTF-8 path");
    let printed = String::from_utf8(kedge_crds(&["--output-dir", dir_arg]).stdout).expect("UTF-8");
    let application = read(&dir.path().join("applications.yaml"));
    let image_update = read(&dir.path().join("imageupdates.yaml"));
    assert!(
        application.contains("name: applications.kedge.dev"),
        "{application}"
    );
    assert!(
        image_update.contains("name: imageupdates.kedge.dev"),
        "{image_update}"
    );
    assert_eq!(printed, format!("{application}{image_update}"));
}

#[test]
fn json_output_is_a_list_of_both_crds() {
    let output = kedge_crds(&["-o", "json"]);
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(list["kind"], "List");
    let names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|crd| crd["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names, ["applications.kedge.dev", "imageupdates.kedge.dev"]);
}
